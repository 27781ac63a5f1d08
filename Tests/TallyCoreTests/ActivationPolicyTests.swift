import Foundation
import TallyCore
import Testing

@Suite("Activation policy")
struct ActivationPolicyTests {
    let policy = ActivationPolicy()
    /// Client threshold 25, server threshold 5, valid for a year from the fixed epoch.
    let certificate = TokenFixture().certificateClaims
    let now = Fixed.days(10)

    func request(_ cmid: String, sku: String = "studio-pro", at time: Date? = nil, fingerprint: String = "fpr") -> PolicyRequest {
        PolicyRequest(cmid: cmid, sku: sku, fingerprint: fingerprint, clientTime: time ?? now)
    }

    @Test("without a certificate the host answers C004F041 and counts nothing")
    func noCertificate() {
        var counts = ClassCounts()
        let decision = policy.decide(request("a"), certificate: nil, counts: &counts, now: now)
        #expect(decision.code == .hostNotActivated)
        #expect(!decision.counted)
        #expect(!decision.grantsTicket)
        #expect(counts == ClassCounts())
    }

    @Test("with an expired certificate the host answers C004F041 and counts nothing")
    func expiredCertificate() {
        var counts = ClassCounts()
        let expiry = certificate.exp.date
        let atExpiry = policy.decide(request("a", at: expiry), certificate: certificate, counts: &counts, now: expiry)
        #expect(atExpiry.code == .hostNotActivated)
        #expect(!atExpiry.counted)
        let later = policy.decide(request("a", at: expiry + Fixed.day), certificate: certificate, counts: &counts, now: expiry + Fixed.day)
        #expect(later.code == .hostNotActivated)
        #expect(counts == ClassCounts())
        // A second before expiry the certificate still works.
        let before = policy.decide(request("a", at: expiry - 1), certificate: certificate, counts: &counts, now: expiry - 1)
        #expect(before.code == .countTooLow)
    }

    @Test("a SKU the certificate does not cover is C004F042 and not counted")
    func skuNotCovered() {
        var counts = ClassCounts()
        let decision = policy.decide(request("a", sku: "studio-standard"), certificate: certificate, counts: &counts, now: now)
        #expect(decision.code == .skuNotCovered)
        #expect(!decision.counted)
        #expect(decision.productClass == nil)
        #expect(counts == ClassCounts())
    }

    @Test("below the threshold the answer is C004F038, counted, with the counts")
    func countTooLow() {
        var counts = ClassCounts()
        let decision = policy.decide(request("a"), certificate: certificate, counts: &counts, now: now)
        #expect(decision.code == .countTooLow)
        #expect(decision.counted)
        #expect(decision.currentCount == 1)
        #expect(decision.requiredCount == 25)
        #expect(decision.productClass == "client")
        #expect(counts.count(class: "client", at: now) == 1)
    }

    @Test("the 25th distinct machine is activated, and so are the earlier ones when they ask again")
    func twentyFifthMachineSucceeds() {
        var counts = ClassCounts()
        for i in 1...24 {
            let decision = policy.decide(request("m\(i)"), certificate: certificate, counts: &counts, now: now)
            #expect(decision.code == .countTooLow)
            #expect(decision.currentCount == i)
        }
        let decision = policy.decide(request("m25"), certificate: certificate, counts: &counts, now: now)
        #expect(decision.code == .success)
        #expect(decision.grantsTicket)
        #expect(decision.currentCount == 25)
        #expect(decision.counted)
        let again = policy.decide(request("m1"), certificate: certificate, counts: &counts, now: now + Fixed.hour)
        #expect(again.code == .success)
        #expect(again.currentCount == 25)
        let more = policy.decide(request("m26"), certificate: certificate, counts: &counts, now: now + Fixed.hour)
        #expect(more.currentCount == 26)
    }

    @Test("a renewal after the count fell below the threshold is C004F038, still counted")
    func renewalAfterCountFell() {
        var counts = ClassCounts()
        for i in 1...24 { _ = policy.decide(request("m\(i)", at: Fixed.days(0)), certificate: certificate, counts: &counts, now: Fixed.days(0)) }
        let granted = policy.decide(request("renewer", at: Fixed.days(5)), certificate: certificate, counts: &counts, now: Fixed.days(5))
        #expect(granted.code == .success)
        // Day 29: the 24 seen on day 0 still count.
        let stillFine = policy.decide(request("renewer", at: Fixed.days(29)), certificate: certificate, counts: &counts, now: Fixed.days(29))
        #expect(stillFine.code == .success)
        // Day 30: they aged out; only the renewer is left.
        let fell = policy.decide(request("renewer", at: Fixed.days(30)), certificate: certificate, counts: &counts, now: Fixed.days(30))
        #expect(fell.code == .countTooLow)
        #expect(fell.counted)
        #expect(fell.currentCount == 1)
        #expect(counts.count(class: "client", at: Fixed.days(30)) == 1)
    }

    @Test("a client clock more than 4 hours off is C004F06C and not counted")
    func clockSkew() {
        var counts = ClassCounts()
        let ahead = policy.decide(request("a", at: now + 4 * Fixed.hour + 1), certificate: certificate, counts: &counts, now: now)
        #expect(ahead.code == .clockSkew)
        #expect(!ahead.counted)
        let behind = policy.decide(request("b", at: now - 4 * Fixed.hour - 1), certificate: certificate, counts: &counts, now: now)
        #expect(behind.code == .clockSkew)
        #expect(!behind.counted)
        let days = policy.decide(request("c", at: now - 3 * Fixed.day), certificate: certificate, counts: &counts, now: now)
        #expect(days.code == .clockSkew)
        #expect(counts.count(class: "client", at: now) == 0)
        #expect(ahead.requiredCount == 25)
        #expect(ahead.productClass == "client")
    }

    @Test("a client clock exactly 4 hours off is accepted")
    func clockSkewBoundary() {
        var counts = ClassCounts()
        let ahead = policy.decide(request("a", at: now + 4 * Fixed.hour), certificate: certificate, counts: &counts, now: now)
        #expect(ahead.code == .countTooLow)
        #expect(ahead.counted)
        let behind = policy.decide(request("b", at: now - 4 * Fixed.hour), certificate: certificate, counts: &counts, now: now)
        #expect(behind.code == .countTooLow)
        #expect(behind.currentCount == 2)
    }

    @Test("the skew tolerance is configurable")
    func customTolerance() {
        var counts = ClassCounts()
        let strict = ActivationPolicy(clockSkewTolerance: 60)
        #expect(strict.decide(request("a", at: now + 61), certificate: certificate, counts: &counts, now: now).code == .clockSkew)
        #expect(strict.decide(request("a", at: now + 60), certificate: certificate, counts: &counts, now: now).code == .countTooLow)
    }

    @Test("the skew answer reports the count as it stands")
    func clockSkewReportsCount() {
        var counts = ClassCounts()
        for i in 1...3 { _ = policy.decide(request("m\(i)"), certificate: certificate, counts: &counts, now: now) }
        let skewed = policy.decide(request("x", at: now + Fixed.day), certificate: certificate, counts: &counts, now: now)
        #expect(skewed.code == .clockSkew)
        #expect(skewed.currentCount == 3)
    }

    @Test("the same CMID twice is counted once, even from two fingerprints")
    func sameCMIDCountedOnce() {
        var counts = ClassCounts()
        let first = policy.decide(request("a", fingerprint: "f1"), certificate: certificate, counts: &counts, now: now)
        let second = policy.decide(request("a", fingerprint: "f1"), certificate: certificate, counts: &counts, now: now)
        let clone = policy.decide(request("a", at: now + Fixed.day, fingerprint: "f2"), certificate: certificate, counts: &counts, now: now + Fixed.day)
        #expect(first.currentCount == 1)
        #expect(second.currentCount == 1)
        #expect(clone.currentCount == 1)
        #expect(clone.counted)
        // 25 requests from one CMID never reach the threshold.
        for _ in 0..<25 { _ = policy.decide(request("a"), certificate: certificate, counts: &counts, now: now) }
        #expect(policy.decide(request("a"), certificate: certificate, counts: &counts, now: now).code == .countTooLow)
    }

    @Test("classes count independently: 5 server machines activate, client machines do not help")
    func classesIndependent() {
        var counts = ClassCounts()
        for i in 1...24 { _ = policy.decide(request("c\(i)"), certificate: certificate, counts: &counts, now: now) }
        for i in 1...4 {
            let decision = policy.decide(request("s\(i)", sku: "studio-server"), certificate: certificate, counts: &counts, now: now)
            #expect(decision.code == .countTooLow)
            #expect(decision.currentCount == i)
            #expect(decision.requiredCount == 5)
            #expect(decision.productClass == "server")
        }
        let fifth = policy.decide(request("s5", sku: "studio-server"), certificate: certificate, counts: &counts, now: now)
        #expect(fifth.code == .success)
        #expect(fifth.currentCount == 5)
        // The client class is still at 24: server machines do not count for it.
        let client = policy.decide(request("c1"), certificate: certificate, counts: &counts, now: now)
        #expect(client.code == .countTooLow)
        #expect(client.currentCount == 24)
        // A client machine that also asks for a server SKU counts once in each class.
        let both = policy.decide(request("c1", sku: "studio-server"), certificate: certificate, counts: &counts, now: now)
        #expect(both.currentCount == 6)
        #expect(counts.count(class: "client", at: now) == 24)
    }

    @Test("two SKUs of one class share the class's count")
    func skusShareClassCount() {
        var claims = certificate
        claims.skus.append(CertifiedSKU(sku: "studio-standard", class: "client"))
        var counts = ClassCounts()
        _ = policy.decide(request("a", sku: "studio-pro"), certificate: claims, counts: &counts, now: now)
        let b = policy.decide(request("b", sku: "studio-standard"), certificate: claims, counts: &counts, now: now)
        #expect(b.currentCount == 2)
        let aAgain = policy.decide(request("a", sku: "studio-standard"), certificate: claims, counts: &counts, now: now)
        #expect(aAgain.currentCount == 2)
    }

    @Test("a class without a threshold in the certificate never activates")
    func missingThreshold() {
        var claims = certificate
        claims.thr = ["client": 25]
        var counts = ClassCounts()
        for i in 1...10 {
            let decision = policy.decide(request("s\(i)", sku: "studio-server"), certificate: claims, counts: &counts, now: now)
            #expect(decision.code == .countTooLow)
        }
    }

    @Test("a ticket expires after 180 days, never after the certificate")
    func ticketExpiry() {
        #expect(ActivationPolicy.ticketExpiry(now: now, certificate: certificate) == now + 180 * Fixed.day)
        let late = certificate.exp.date - 10 * Fixed.day
        #expect(ActivationPolicy.ticketExpiry(now: late, certificate: certificate) == certificate.exp.date)
    }

    @Test("a machine whose last sighting is later than the host's corrected clock is still counted in its own decision")
    func hostClockCorrectedBackwards() {
        var counts = ClassCounts()
        // The host's clock ran 20 days ahead while 24 machines asked; then NTP corrected it.
        let wrong = now + 20 * Fixed.day
        for i in 1...24 { _ = policy.decide(request("m\(i)", at: wrong), certificate: certificate, counts: &counts, now: wrong) }
        let decision = policy.decide(request("m1"), certificate: certificate, counts: &counts, now: now)
        // docs/ARCHITECTURE.md: the count includes the machine asking now.
        #expect(decision.currentCount >= 1)
    }
}
