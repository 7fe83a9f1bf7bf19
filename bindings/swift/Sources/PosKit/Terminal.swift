// The Terminal for Swift: async/await, a stream of screen events, payment
// results as an enum, and Task cancellation that presses the terminal's
// cancel button without ever leaving a payment half-done. Built on the
// generated bindings (module PosKitFFI), which are not API; the generated
// records and enums it hands out (Outcome, TerminalEvent, WalletKind, ...)
// come along with `import PosKit`.
import Foundation
@_exported import PosKitFFI

/// How the customer pays a sale.
public enum Payment: Equatable {
    /// Insert, tap or swipe.
    case card
    /// The customer's wallet shows this code; the cashier scanned it.
    case scanCode(String)
    /// The terminal shows a code for the customer's wallet to scan (see
    /// `TerminalEvent.qrShown`).
    case showCode(WalletKind)
}

/// How a payment ended; `outcome` holds the details (reference, codes,
/// masked card).
public enum PaymentResult: Equatable {
    case approved(Outcome)
    case declined(Outcome)
    /// No usable answer: reversed, the customer was not charged.
    case reversed(Outcome)
    case cancelled(Outcome)
    /// The wallet has not given its last word; the terminal keeps asking.
    case pending(Outcome)
    case failed(Outcome)
    /// Risk control refused it; nothing was sent.
    case blocked(Outcome)

    public init(_ outcome: Outcome) {
        switch outcome.status {
        case .approved: self = .approved(outcome)
        case .declined: self = .declined(outcome)
        case .reversed: self = .reversed(outcome)
        case .cancelled: self = .cancelled(outcome)
        case .pending: self = .pending(outcome)
        case .failed: self = .failed(outcome)
        case .blocked: self = .blocked(outcome)
        }
    }

    public var outcome: Outcome {
        switch self {
        case .approved(let o), .declined(let o), .reversed(let o), .cancelled(let o),
             .pending(let o), .failed(let o), .blocked(let o):
            return o
        }
    }

    /// For void, refund, completion, receipts and queries.
    public var reference: String? { outcome.reference }
}

/// A payment terminal. Open it with `Terminal.open`; it closes when the
/// last reference goes.
///
/// Operations run one at a time. Cancelling the calling Task during a
/// payment (`sale`, `preAuth`, `balanceInquiry`, `prepaid`) presses the
/// terminal's cancel button: the terminal stops where that is safe
/// (waiting for a card, at the PIN prompt, while a wallet waits) and
/// otherwise runs to its end. The call always waits for the terminal and
/// returns how the payment really ended: `PosKitError.Cancelled` (2600) or
/// `.cancelled` when it stopped, the real result (approved, say) when it
/// was already past that point. All other operations move money or binding
/// state and run to their end whatever happens to the Task.
public final class Terminal: Sendable {
    private let inner: PosTerminal
    private let hub: EventHub

    private init(inner: PosTerminal, hub: EventHub) {
        self.inner = inner
        self.hub = hub
    }

    deinit {
        hub.finish()
    }

    /// Opens the terminal whose data lives in `settings.dataDir` and
    /// finishes what a crash left half-done.
    public static func open(
        settings: TerminalSettings,
        keystore: KeystoreDevice,
        reader: CardReaderDevice,
        pinPad: PinPadDevice,
        printer: PrinterDevice
    ) async throws -> Terminal {
        let hub = EventHub()
        let devices = TerminalDevices(reader: reader, pinPad: pinPad, printer: printer, listener: hub)
        let inner = try await openTerminal(settings: settings, keystore: keystore, devices: devices)
        return Terminal(inner: inner, hub: hub)
    }

    /// Screen events from now on. Each access is a stream of its own, so
    /// several screens can follow; it ends when its consumer stops (or its
    /// Task is cancelled) or when the terminal goes. A consumer that falls
    /// more than 256 events behind loses the oldest.
    public var events: AsyncStream<TerminalEvent> { hub.subscribe() }

    /// The generated object, for tools such as the simulators' reconciliation.
    public var raw: PosTerminal { inner }

    public func lifecycle() async -> LifecycleState { await inner.lifecycle() }

    @discardableResult
    public func apply(_ application: MerchantApplication) async throws -> BindingReport {
        try await inner.apply(application: application)
    }

    @discardableResult
    public func refreshReview() async throws -> BindingReport { try await inner.refreshReview() }

    @discardableResult
    public func bind(serial: String, model: String) async throws -> BindingReport {
        try await inner.bind(serial: serial, model: model)
    }

    /// Start of day: working keys, EMV parameters, active.
    @discardableResult
    public func signIn() async throws -> SignInResult { try await inner.signIn() }

    public func signOut() async throws { try await inner.signOut() }

    @discardableResult
    public func setPaymentMethod(
        _ wallet: WalletKind,
        enabled: Bool,
        subMerchantId: String? = nil
    ) async throws -> BindingReport {
        try await inner.setPaymentMethod(wallet: wallet, enabled: enabled, subMerchantId: subMerchantId)
    }

    public func changePassword(old: String, new: String) async throws {
        try await inner.changePassword(old: old, new: new)
    }

    /// A sale of `amount` minor units (fen).
    public func sale(amount: UInt64, payment: Payment = .card) async throws -> PaymentResult {
        try await cancellable { handle in
            switch payment {
            case .card:
                return try await self.inner.saleCard(amount: amount, cancel: handle)
            case .scanCode(let code):
                return try await self.inner.saleQrScan(amount: amount, code: code, cancel: handle)
            case .showCode(let wallet):
                return try await self.inner.saleQrShow(amount: amount, wallet: wallet, cancel: handle)
            }
        }
    }

    public func preAuth(amount: UInt64) async throws -> PaymentResult {
        try await cancellable { try await self.inner.preAuth(amount: amount, cancel: $0) }
    }

    public func complete(reference: String, amount: UInt64) async throws -> PaymentResult {
        PaymentResult(try await inner.complete(reference: reference, amount: amount))
    }

    public func balanceInquiry() async throws -> PaymentResult {
        try await cancellable { try await self.inner.balanceInquiry(cancel: $0) }
    }

    public func void(reference: String) async throws -> PaymentResult {
        PaymentResult(try await inner.void(reference: reference))
    }

    public func refund(reference: String, amount: UInt64) async throws -> PaymentResult {
        PaymentResult(try await inner.refund(reference: reference, amount: amount))
    }

    /// A prepaid card operation; without `cardNumber` the card is swiped.
    public func prepaid(
        _ operation: PrepaidOperation,
        cardNumber: String? = nil,
        askPin: Bool = false
    ) async throws -> PaymentResult {
        try await cancellable {
            try await self.inner.prepaid(operation: operation, cardNumber: cardNumber, askPin: askPin, cancel: $0)
        }
    }

    public func settle() async throws -> SettlementResult { try await inner.settle() }

    public func transaction(reference: String) async throws -> TransactionLine {
        try await inner.transaction(reference: reference)
    }

    /// Card transactions and QR orders created in `[from, to)` (Unix seconds).
    public func transactions(from: Int64 = 0, to: Int64 = .max) async throws -> [TransactionLine] {
        try await inner.transactions(from: from, to: to)
    }

    /// The receipt as text for 58 or 80 mm paper.
    public func receiptText(reference: String, merchantCopy: Bool = false, widthMm: UInt8 = 58) async throws -> String {
        try await inner.receiptText(reference: reference, merchantCopy: merchantCopy, reprint: false, widthMm: widthMm)
    }

    /// Prints the merchant and customer copies on the printer.
    public func printReceipt(reference: String) async throws { try await inner.printReceipt(reference: reference) }

    public func reprint(reference: String) async throws { try await inner.reprint(reference: reference) }

    public func faultReport(since: Int64 = 0) async throws -> FaultSummary { try await inner.faultReport(since: since) }

    /// Runs `op` with a cancel handle that the Task's cancellation presses.
    /// The generated async calls ignore Task cancellation, so `op` always
    /// runs to the terminal's own end: nothing is abandoned mid-way.
    private func cancellable(_ op: (CancelHandle) async throws -> Outcome) async throws -> PaymentResult {
        let handle = CancelHandle()
        let outcome = try await withTaskCancellationHandler {
            try await op(handle)
        } onCancel: {
            handle.cancel()
        }
        return PaymentResult(outcome)
    }
}

/// The listener the Rust side calls (from its worker threads); each event
/// goes to every open stream.
final class EventHub: TerminalListener, @unchecked Sendable {
    private let lock = NSLock()
    private var nextId = 0
    private var streams: [Int: AsyncStream<TerminalEvent>.Continuation] = [:]
    private var finished = false

    func subscribe() -> AsyncStream<TerminalEvent> {
        // The build closure runs before init returns: the stream receives
        // every event from this call on.
        AsyncStream(bufferingPolicy: .bufferingNewest(256)) { continuation in
            guard let id = self.add(continuation) else {
                continuation.finish()
                return
            }
            continuation.onTermination = { [weak self] _ in self?.remove(id) }
        }
    }

    func onEvent(event: TerminalEvent) {
        lock.lock()
        let targets = Array(streams.values)
        lock.unlock()
        for stream in targets {
            stream.yield(event)
        }
    }

    func finish() {
        lock.lock()
        finished = true
        let targets = Array(streams.values)
        streams.removeAll()
        lock.unlock()
        for stream in targets {
            stream.finish()
        }
    }

    private func add(_ continuation: AsyncStream<TerminalEvent>.Continuation) -> Int? {
        lock.lock()
        defer { lock.unlock() }
        if finished { return nil }
        let id = nextId
        nextId += 1
        streams[id] = continuation
        return id
    }

    private func remove(_ id: Int) {
        lock.lock()
        streams[id] = nil
        lock.unlock()
    }
}
