/// What a result code means and what to do about it: `tally explain` prints both, and every error carries them.
public struct ResultCodeInfo: Sendable, Equatable {
    public var code: ResultCode
    /// A short symbolic name, e.g. `countTooLow`.
    public var name: String
    public var meaning: String
    public var remedy: String
}

extension ResultCode {
    /// Every code Tally can report, in numeric order.
    public static let catalog: [ResultCodeInfo] = [
        .init(code: .success, name: "success",
              meaning: "The operation succeeded; for an activation, the machine is activated.",
              remedy: "Nothing to do."),
        .init(code: .accessDenied, name: "accessDenied",
              meaning: "Access denied: the process may not read or write a file it needs.",
              remedy: "Run the command as the user that owns the state directory, or fix the directory's owner and mode."),
        .init(code: .hostUnreachable, name: "hostUnreachable",
              meaning: "The activation host could not be reached (connection refused or no route).",
              remedy: "Check that the host runs and that TCP port 1688 (or the configured port) is open in every firewall on the path; a stale SRV record can point at a host that is gone."),
        .init(code: .dnsServerFailure, name: "dnsServerFailure",
              meaning: "The DNS server failed or did not answer the SRV query.",
              remedy: "Check the name servers in /etc/resolv.conf (or the configured ones) with `dig`; troubleshoot DNS and the network path to them."),
        .init(code: .dnsNameNotFound, name: "dnsNameNotFound",
              meaning: "No SRV record found: the name _tally._tcp.<domain> does not exist (NXDOMAIN).",
              remedy: "Check that the host publishes to this domain (`tally host dns show`), that the client searches the right domain (`tally client skms-domain`), or pin a host with `tally client skms HOST`."),
        .init(code: .dnsNoSRVRecords, name: "dnsNoSRVRecords",
              meaning: "No SRV record found: the name exists but holds no SRV records.",
              remedy: "Publish the host (`tally host dns publish`) or add the SRV record by hand; or pin a host with `tally client skms HOST`."),
        .init(code: .noDNSServer, name: "noDNSServer",
              meaning: "No DNS server is configured on this machine.",
              remedy: "Add a `nameserver` line to /etc/resolv.conf or configure name servers for Tally; or pin a host with `tally client skms HOST`."),
        .init(code: .keyBlocked, name: "keyBlocked",
              meaning: "The host key has been blocked by the vendor.",
              remedy: "Obtain a new host key from the vendor and install it with `tally host install-key`."),
        .init(code: .unlockLimitReached, name: "unlockLimitReached",
              meaning: "The host key is over its unlock limit: too many hosts, or too many activations of this host.",
              remedy: "Reuse an existing host (renewing a certificate for the same key pair is free), or ask the vendor to raise the key's limit or issue another key."),
        .init(code: .rearmLimitReached, name: "rearmLimitReached",
              meaning: "The rearm limit has been reached: this machine may not make a new CMID again.",
              remedy: "Reinstall the product from a generalised image, or ask the vendor for a catalog with a higher rearm limit."),
        .init(code: .keyDoesNotMatch, name: "keyDoesNotMatch",
              meaning: "The key is valid but of the wrong kind for this command (a client setup key on a host, or a host key on a client).",
              remedy: "On a client install the product's client setup key (`tally client ipk`); on a host install the secret host key the vendor issued (`tally host install-key`)."),
        .init(code: .countTooLow, name: "countTooLow",
              meaning: "The count on the host is insufficient: fewer distinct machines than the product class needs have asked in the last 30 days. "
                + "The vendor's catalog sets each class's threshold; its defaults are \(Catalog.defaultThresholds["client"] ?? 0) for client class and \(Catalog.defaultThresholds["server"] ?? 0) for server class. "
                + "The host's own thresholds are in its certificate: `tally host status` prints `count (CLASS): N of THRESHOLD`, the dashboard shows each class against its threshold, "
                + "`tally_machines_required{class}` on /metrics exports it, and `tally client dli` shows the count and threshold the host last answered with.",
              remedy: "Wait for more machines to ask, or add machines; check the host's count with `tally host status`. A ticket already held stays valid until it expires. If the count stays at 1 while many machines ask, the machines are clones sharing one CMID: run `tally client rearm` on them."),
        .init(code: .hostDidNotRespond, name: "hostDidNotRespond",
              meaning: "The host pinned with `skms` did not respond.",
              remedy: "Check that the pinned host runs and its port is open; or clear the pin with `tally client ckms` so the client finds a host through DNS."),
        .init(code: .hostNotActivated, name: "hostNotActivated",
              meaning: "The host has no valid certificate from the vendor, so it may not activate anything.",
              remedy: "Activate the host: `tally host activate` (online or with an offline request file); check `tally host status` for the certificate's expiry."),
        .init(code: .skuNotCovered, name: "skuNotCovered",
              meaning: "The host cannot activate this product: its host key's product group does not cover the SKU.",
              remedy: "Use a host whose key covers this product (`tally host status` lists the SKUs), or get a host key for a group that includes it."),
        .init(code: .invalidKey, name: "invalidKey",
              meaning: "The product key is invalid: it has a typo, a character Tally keys never use, or the wrong length.",
              remedy: "Type the key again: 25 characters in 5 groups, letters and digits without 0, 1, I, L or O."),
        .init(code: .clockSkew, name: "clockSkew",
              meaning: "The client's clock and the host's clock differ by more than 4 hours (compared in UTC).",
              remedy: "Synchronise the clocks of the client and the host (NTP)."),
        .init(code: .noHostContacted, name: "noHostContacted",
              meaning: "No activation host could be contacted: SRV records were found but no host answered.",
              remedy: "Check the 12288 events for each host tried; check each SRV target resolves, runs and is reachable on its port; remove stale SRV records."),
        .init(code: .malformedRequest, name: "malformedRequest",
              meaning: "The request is malformed: not valid JSON, a missing or wrongly typed field, or too large.",
              remedy: "Fix the client that sent it; the protocol is described in openapi.yaml."),
        .init(code: .tokenRejected, name: "tokenRejected",
              meaning: "A signed token (certificate, ticket, answer or report) failed verification: bad signature, wrong type, unknown signer, or expired.",
              remedy: "Check that the file came from the right vendor or host and was not edited; an expired host certificate needs `tally host activate` again."),
        .init(code: .stateUnreadable, name: "stateUnreadable",
              meaning: "A state file is missing or corrupt.",
              remedy: "Check the state directory; restore it from a backup, or start again (`tally client ipk`, `tally host install-key`)."),
        .init(code: .ticketFromAnotherMachine, name: "ticketFromAnotherMachine",
              meaning: "The activation ticket belongs to another machine: this state was copied from another machine or image.",
              remedy: "Nothing to do by hand: the client makes a new CMID and activates afresh. Generalise images before cloning them."),
        .init(code: .clockRolledBack, name: "clockRolledBack",
              meaning: "The clock is earlier than a time this client has already seen, by more than the skew tolerance.",
              remedy: "Set the clock right (NTP); Tally keeps using the latest time it has seen until then."),
        .init(code: .storeUnavailable, name: "storeUnavailable",
              meaning: "The host's store could not be written (disk full, read-only, or corrupt); the request was not counted.",
              remedy: "Free disk space or fix the store's file and directory; the host recovers by itself once it can write again."),
        .init(code: .catalogInvalid, name: "catalogInvalid",
              meaning: "The vendor's catalog has problems.",
              remedy: "Run `tally vendor catalog check` and fix each problem at the place it names."),
        .init(code: .answerRejected, name: "answerRejected",
              meaning: "The host's answer was rejected: its signature did not verify, or it does not echo this request's nonce (a replay).",
              remedy: "Something on the network altered or replayed the answer, or the host is not genuine; check which host answered (`tally client dli`)."),
        .init(code: .notInstalled, name: "notInstalled",
              meaning: "Nothing is installed in this state directory yet.",
              remedy: "Install a key first: `tally client ipk KEY` on a client, `tally host install-key KEY` on a host, or `tally vendor init` for a vendor."),
        .init(code: .profileMissing, name: "profileMissing",
              meaning: "The client was given no vendor profile: the roots it trusts come only from the application, never from the state directory.",
              remedy: "Install the vendor's client-profile.json as /etc/tally/client-profile.json (the application's package does), or pass `--profile FILE` (or set $TALLY_CLIENT_PROFILE) on every `tally client` command and `tally doctor`."),
        .init(code: .rateLimited, name: "rateLimited",
              meaning: "The host refused the request: this address sent more requests per second than the host allows.",
              remedy: "Retry after the activation interval (clients add jitter); if many machines share one address (NAT), raise the limit with `tally host set rate-limit N`."),
        .init(code: .hostBusy, name: "hostBusy",
              meaning: "The host has as many open connections as it allows and refused this one.",
              remedy: "Retry later; raise the limit with `tally host set max-connections N` if the host has the memory for it."),
        .init(code: .requestTimeout, name: "requestTimeout",
              meaning: "The client did not send its whole request within the host's read timeout.",
              remedy: "Check the network path between client and host; a client that sends slowly on purpose is cut off by design."),
        .init(code: .usageError, name: "usageError",
              meaning: "The command was used wrongly: a missing or invalid argument or setting.",
              remedy: "See `tally help` for the command."),
    ].sorted { $0.code < $1.code }

    private static let byCode: [ResultCode: ResultCodeInfo] = Dictionary(
        uniqueKeysWithValues: catalog.map { ($0.code, $0) })

    /// What the code means, or `nil` for a code Tally does not know.
    public var info: ResultCodeInfo? { ResultCode.byCode[self] }
}
