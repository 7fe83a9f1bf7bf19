// The cashier's state and every operation it starts. One terminal at a
// time, opened against the simulated hosts; its cards come from the
// simulator or from the iPhone's NFC.
import Foundation
import PosKit

/// The code the terminal shows for the customer's wallet.
struct ShownCode: Equatable {
    let orderNo: String
    let content: String
}

enum Screen {
    case start
    case binding
    case amount
    case paying(amount: UInt64)
    case scan(amount: UInt64)
    case result(PaymentResult)
    case receipt(String)
    case settlement(SettlementResult?)
}

@MainActor
final class CashierModel: ObservableObject {
    @Published var screen: Screen = .start
    /// Simulated cards and PIN pad instead of the iPhone's NFC and screen.
    @Published var simulator = true
    @Published private(set) var busy = false
    @Published private(set) var lifecycle = ""
    @Published private(set) var prompt = ""
    @Published private(set) var shownCode: ShownCode?
    @Published var error: String?

    let pinPad = ScreenPinPad()
    private let nfcReader = CoreNfcCardReader()
    private var session: Session?
    private var operation: Task<Void, Never>?

    /// The simulated hosts, the terminal and, in simulator mode, its card reader.
    private struct Session {
        let sims: SimEnvironment
        let terminal: Terminal
        let simReader: SimCardReader?
        let events: Task<Void, Never>
    }

    /// Opens a fresh terminal against freshly started simulated hosts.
    func start() {
        run { [self] in
            session?.events.cancel()
            session = nil
            let sims = try await startSimulators(userPayingDelayMs: 3_000)
            // The simulated hosts start empty each time, so the terminal does too.
            let dir = try FileManager.default
                .url(for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
                .appendingPathComponent("poskit-demo", isDirectory: true)
            try? FileManager.default.removeItem(at: dir)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let simReader = simulator ? SimCardReader() : nil
            let terminal = try await Terminal.open(
                settings: sims.settings(dataDir: dir.path, serial: "SN-IOS-DEMO"),
                keystore: KeychainKeystore(account: "demo-store-kek"),
                reader: simReader?.device() ?? nfcReader,
                pinPad: simReader?.pinPad().device() ?? pinPad,
                printer: MemoryPrinter().device()
            )
            let stream = terminal.events
            let events = Task { [weak self] in
                for await event in stream {
                    self?.show(event)
                }
            }
            session = Session(sims: sims, terminal: terminal, simReader: simReader, events: events)
            await refreshLifecycle()
            screen = .binding
        }
    }

    func apply(merchantName: String) {
        withSession { s in
            var application = s.sims.sampleApplication()
            application.merchantName = merchantName
            try await s.terminal.apply(application)
            await self.refreshLifecycle()
        }
    }

    func refreshReview() {
        withSession { s in
            try await s.terminal.refreshReview()
            await self.refreshLifecycle()
        }
    }

    func bind(serial: String, model: String) {
        withSession { s in
            try await s.terminal.bind(serial: serial, model: model)
            // The simulated acquirer learns the terminal the platform bound.
            if let tid = await s.terminal.lifecycle().terminalId {
                try s.sims.enrol(terminalId: tid)
            }
            await self.refreshLifecycle()
        }
    }

    func signIn() {
        withSession { s in
            try await s.terminal.signIn()
            await self.refreshLifecycle()
            self.screen = .amount
        }
    }

    func pay(amount: UInt64, payment: Payment) {
        withSession { s in
            self.screen = .paying(amount: amount)
            self.prompt = ""
            self.shownCode = nil
            self.screen = .result(try await s.terminal.sale(amount: amount, payment: payment))
        }
    }

    /// The cashier's cancel button: the terminal stops where that is safe.
    func cancel() {
        pinPad.cancelPending()
        operation?.cancel()
    }

    func receipt(reference: String) {
        withSession { s in
            self.screen = .receipt(try await s.terminal.receiptText(reference: reference))
        }
    }

    func settle() {
        withSession { s in
            self.screen = .settlement(try await s.terminal.settle())
        }
    }

    /// Simulator mode: the customer inserts or taps one of the virtual cards.
    func present(profile: String, tap: Bool) {
        guard let reader = session?.simReader else { return }
        if tap { reader.tap(profile: profile) } else { reader.insert(profile: profile) }
    }

    /// Simulator mode: the customer's wallet pays the code on screen.
    func customerPays() {
        guard let session, let code = shownCode else { return }
        do {
            try session.sims.customerPays(orderNo: code.orderNo)
        } catch {
            fail(error)
        }
    }

    private func show(_ event: TerminalEvent) {
        prompt = event.prompt
        switch event {
        case .qrShown(let orderNo, let content, _):
            shownCode = ShownCode(orderNo: orderNo, content: content)
        case .approved, .declined, .cancelling:
            shownCode = nil
        default:
            break
        }
    }

    private func refreshLifecycle() async {
        guard let terminal = session?.terminal else { return }
        let state = await terminal.lifecycle()
        lifecycle = state.state + (state.terminalId.map { " · terminal \($0)" } ?? "")
    }

    private func withSession(_ body: @escaping @MainActor (Session) async throws -> Void) {
        guard let session else { return }
        run { try await body(session) }
    }

    /// One operation at a time, shown as busy; its errors go on screen.
    private func run(_ body: @escaping @MainActor () async throws -> Void) {
        guard operation == nil else { return }
        busy = true
        error = nil
        operation = Task {
            do {
                try await body()
            } catch {
                fail(error)
            }
            busy = false
            operation = nil
        }
    }

    private func fail(_ error: Error) {
        if case .paying = screen { screen = .amount }
        if let e = error as? PosKitError, case .Cancelled = e {
            // The cashier or the cardholder cancelled: nothing to explain.
            return
        }
        if let e = error as? PosKitError {
            self.error = "\(e.reason) (\(e.errorCode))"
        } else {
            self.error = error.localizedDescription
        }
    }
}
