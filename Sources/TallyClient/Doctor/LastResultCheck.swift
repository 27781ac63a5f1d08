import TallyCore

/// Check 8: the result of the newest 12289 event (activation response processed) in the client's event log.
/// A non-zero result is a warning with that code's meaning and remedy.
package struct LastResultCheck: DoctorCheck {
    package var name: DoctorCheckName { .lastResult }

    package init() {}

    package func run(_ session: DoctorSession) -> DoctorFinding {
        guard let event = session.state.events.last(where: { $0.id == .responseProcessed }) else {
            return .pass(name, "no activation has been recorded yet (no 12289 event)")
        }
        var what = "the last activation (12289 at \(DoctorText.iso(event.time))"
        if let sku = event.fields["sku"], !sku.isEmpty { what += ", \(sku)" }
        if let host = event.fields["host"], !host.isEmpty { what += ", host \(host)" }
        what += ")"
        let result = event.result ?? .success
        guard !result.isSuccess else {
            return .pass(name, what + " succeeded")
        }
        var finding = what + " got \(result.hex)"
        if let info = result.info { finding += " (\(info.name)): \(info.meaning)" }
        if let current = event.fields["currentCount"], let required = event.fields["requiredCount"], !current.isEmpty, !required.isEmpty {
            finding += " Host count \(current) of \(required) required."
        }
        if let message = event.fields["message"], !message.isEmpty { finding += " " + message }
        return .warn(name, result, finding)
    }
}
