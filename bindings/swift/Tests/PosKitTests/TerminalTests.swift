// The Swift API against the simulated hosts (loopback TLS) with simulated
// devices through the FFI: the same scenarios as the Kotlin TerminalTest.
import Foundation
import PosKit
import XCTest

/// Screen events as a consumer of `Terminal.events` received them.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [TerminalEvent] = []

    func append(_ event: TerminalEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    var all: [TerminalEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    /// Events reach the stream's consumer on another task: wait (briefly)
    /// for one to arrive.
    func eventually(_ matches: (TerminalEvent) -> Bool) async -> Bool {
        for _ in 0..<200 {
            if all.contains(where: matches) { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return false
    }
}

/// A terminal on simulated devices, against the simulated hosts.
final class Counter: @unchecked Sendable {
    let sims: SimEnvironment
    let terminal: Terminal
    let reader: SimCardReader
    let printer: MemoryPrinter
    let events = EventLog()
    private let dataDir: URL
    private var collector: Task<Void, Never>?

    private init(sims: SimEnvironment, terminal: Terminal, reader: SimCardReader, printer: MemoryPrinter, dataDir: URL) {
        self.sims = sims
        self.terminal = terminal
        self.reader = reader
        self.printer = printer
        self.dataDir = dataDir
    }

    static func open(_ name: String, userPayingDelayMs: UInt64 = 600) async throws -> Counter {
        let sims = try await startSimulators(userPayingDelayMs: userPayingDelayMs)
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("poskit-swift-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let reader = SimCardReader()
        let printer = MemoryPrinter()
        let keystore = try SoftwareKeystore(kek: Data((0..<32).map { UInt8($0) }))
        let terminal = try await Terminal.open(
            settings: sims.settings(dataDir: dir.path, serial: "SN-SW-\(name)"),
            keystore: keystore.device(),
            reader: reader.device(),
            pinPad: reader.pinPad().device(),
            printer: printer.device()
        )
        let counter = Counter(sims: sims, terminal: terminal, reader: reader, printer: printer, dataDir: dir)
        // Subscribed here, before anything happens: the stream gets every event.
        let stream = terminal.events
        let log = counter.events
        counter.collector = Task {
            for await event in stream {
                log.append(event)
            }
        }
        return counter
    }

    /// Onboarding, binding, the acquirer learns the terminal, sign-in.
    func activate() async throws {
        try await terminal.apply(sims.sampleApplication())
        for _ in 0..<5 {
            if await terminal.lifecycle().state == "under review" {
                try await terminal.refreshReview()
            }
        }
        try await terminal.bind(serial: "SN-SW-1", model: "P10")
        let bound = await terminal.lifecycle()
        let tid = try XCTUnwrap(bound.terminalId)
        try sims.enrol(terminalId: tid)
        let signIn = try await terminal.signIn()
        XCTAssertGreaterThan(signIn.parameters, 0)
        let active = await terminal.lifecycle()
        XCTAssertEqual(active.state, "active")
    }

    func reconciled() async throws {
        let r = try await sims.reconcile(terminal: terminal.raw)
        XCTAssertTrue(r.mismatches.isEmpty, "\(r.mismatches)")
        XCTAssertGreaterThan(r.cardChecked + r.qrChecked, 0)
    }

    func close() {
        collector?.cancel()
        try? FileManager.default.removeItem(at: dataDir)
    }
}

/// Runs `body` on an activated counter, then closes it.
func counterTest(
    _ name: String,
    userPayingDelayMs: UInt64 = 600,
    _ body: (Counter) async throws -> Void
) async throws {
    let counter = try await Counter.open(name, userPayingDelayMs: userPayingDelayMs)
    defer { counter.close() }
    try await counter.activate()
    try await body(counter)
}

/// The PosKitError `op` throws; a test failure (and nil) when it throws none.
func posKitError<T>(
    _ op: () async throws -> T,
    file: StaticString = #filePath,
    line: UInt = #line
) async -> PosKitError? {
    do {
        let value = try await op()
        XCTFail("expected a PosKitError, got \(value)", file: file, line: line)
    } catch let e as PosKitError {
        return e
    } catch {
        XCTFail("expected a PosKitError, got \(error)", file: file, line: line)
    }
    return nil
}

final class TerminalTests: XCTestCase {
    func testContactSaleWithOnlinePinShowsEachStepAndPrints() async throws {
        try await counterTest("contact") { c in
            c.reader.insert(profile: "online-pin")
            let result = try await c.terminal.sale(amount: 12_800)
            guard case .approved(let outcome) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(outcome.method, .contact)
            XCTAssertTrue(outcome.maskedPan?.contains("*") ?? false)
            let askedPin = await c.events.eventually {
                if case .enterPin(let online, _) = $0 { return online }
                return false
            }
            XCTAssertTrue(askedPin)
            let approved = await c.events.eventually {
                if case .approved = $0 { return true }
                return false
            }
            XCTAssertTrue(approved)
            let reference = try XCTUnwrap(result.reference)
            try await c.terminal.printReceipt(reference: reference)
            XCTAssertEqual(c.printer.jobs().count, 2)
            let text = try await c.terminal.receiptText(reference: reference)
            XCTAssertTrue(text.contains("128.00"), text)
            XCTAssertFalse(text.contains("6230580000000000039"))
            try await c.reconciled()
        }
    }

    func testContactlessSaleNeedsNoPinUnderTheCvmLimit() async throws {
        try await counterTest("contactless") { c in
            c.reader.tap(profile: "visa-contactless")
            let result = try await c.terminal.sale(amount: 4_500)
            guard case .approved(let outcome) = result else { return XCTFail("\(result)") }
            XCTAssertEqual(outcome.method, .contactless)
            // Every event of the sale comes before its Approved.
            let approved = await c.events.eventually {
                if case .approved = $0 { return true }
                return false
            }
            XCTAssertTrue(approved)
            XCTAssertFalse(c.events.all.contains {
                if case .enterPin = $0 { return true }
                return false
            })
            try await c.reconciled()
        }
    }

    func testQrPaymentWaitsForTheCustomersPassword() async throws {
        try await counterTest("qr") { c in
            // Amounts ending in 61: the wallet asks the customer for the password first.
            let scanned = try await c.terminal.sale(amount: 8_861, payment: .scanCode("134567890123456789"))
            guard case .approved(let outcome) = scanned else { return XCTFail("\(scanned)") }
            XCTAssertEqual(outcome.method, .qrScanned)
            let waited = await c.events.eventually {
                if case .waitingForPassword = $0 { return true }
                return false
            }
            XCTAssertTrue(waited)

            // The terminal shows a code; the customer's wallet pays it.
            let sims = c.sims
            let payer = Task {
                while !Task.isCancelled {
                    try await Task.sleep(nanoseconds: 100_000_000)
                    if let order = sims.openOrders().first {
                        try sims.customerPays(orderNo: order)
                        return
                    }
                }
            }
            let shown = try await c.terminal.sale(amount: 2_500, payment: .showCode(.alipay))
            try await payer.value
            guard case .approved = shown else { return XCTFail("\(shown)") }
            let qrShown = await c.events.eventually {
                if case .qrShown = $0 { return true }
                return false
            }
            XCTAssertTrue(qrShown)

            // An unknown code is refused before anything is sent.
            let refused = await posKitError { try await c.terminal.sale(amount: 100, payment: .scanCode("99999")) }
            guard let refused, case .PaymentCode = refused else { return XCTFail("\(String(describing: refused))") }
            XCTAssertEqual(refused.errorCode, 2400)
            try await c.reconciled()
        }
    }

    func testRefundAndVoid() async throws {
        try await counterTest("refund") { c in
            c.reader.insert(profile: "mastercard-contact")
            let sale = try await c.terminal.sale(amount: 40_000)
            let reference = try XCTUnwrap(sale.reference)
            let refund = try await c.terminal.refund(reference: reference, amount: 10_000)
            guard case .approved = refund else { return XCTFail("\(refund)") }
            let line = try await c.terminal.transaction(reference: reference)
            XCTAssertEqual(line.refunded, 10_000)
            let tooMuch = await posKitError { try await c.terminal.refund(reference: reference, amount: 40_000) }
            guard let tooMuch, case .CardholderAction = tooMuch else {
                return XCTFail("\(String(describing: tooMuch))")
            }
            XCTAssertTrue(tooMuch.reason.contains("left to refund"), tooMuch.reason)

            c.reader.insert(profile: "visa-contact")
            let other = try await c.terminal.sale(amount: 3_000)
            let otherReference = try XCTUnwrap(other.reference)
            let void = try await c.terminal.void(reference: otherReference)
            guard case .approved = void else { return XCTFail("\(void)") }
            let voided = try await c.terminal.transaction(reference: otherReference)
            XCTAssertEqual(voided.state, "voided")
            try await c.reconciled()
        }
    }

    func testHostTimeoutIsReversedBeforeTheNextSale() async throws {
        try await counterTest("timeout") { c in
            // Amounts ending in 98: the acquirer never answers.
            c.reader.insert(profile: "visa-contact")
            let lost = try await c.terminal.sale(amount: 7_798)
            guard case .reversed = lost else { return XCTFail("\(lost)") }
            let reversing = await c.events.eventually {
                if case .reversing = $0 { return true }
                return false
            }
            XCTAssertTrue(reversing)
            c.reader.insert(profile: "visa-contact")
            let next = try await c.terminal.sale(amount: 1_000)
            guard case .approved = next else { return XCTFail("\(next)") }
            let line = try await c.terminal.transaction(reference: try XCTUnwrap(lost.reference))
            XCTAssertEqual(line.state, "reversed")
            let faults = try await c.terminal.faultReport()
            let timeouts = faults.byClass.first { $0.`class` == "host_timeout" }
            XCTAssertEqual(timeouts?.count, 1)
            try await c.reconciled()
        }
    }

    func testBindingOperationsAndABalancedSettlement() async throws {
        try await counterTest("settle") { c in
            try await c.terminal.setPaymentMethod(.wechatPay, enabled: true, subMerchantId: "1900000109")
            try await c.terminal.changePassword(old: "246810", new: "135790")
            for profile in ["visa-contact", "mastercard-contact"] {
                c.reader.insert(profile: profile)
                let result = try await c.terminal.sale(amount: 11_000)
                guard case .approved = result else { return XCTFail("\(profile): \(result)") }
            }
            let settlement = try await c.terminal.settle()
            XCTAssertTrue(settlement.balanced)
            XCTAssertEqual(settlement.debitCount, 2)
            XCTAssertEqual(settlement.debitAmount, 22_000)
            try await c.reconciled()
        }
    }

    func testCancellingTheTaskPressesCancelAndNothingIsCharged() async throws {
        try await counterTest("cancel") { c in
            let before = c.sims.acquirerMessages()
            // No card is presented: the terminal waits at "present card".
            let terminal = c.terminal
            let sale = Task { try await terminal.sale(amount: 1_000) }
            try await Task.sleep(nanoseconds: 200_000_000)
            sale.cancel()
            // The call waited for the terminal, which stopped cleanly.
            let ended = await sale.result
            switch ended {
            case .failure(let e as PosKitError):
                guard case .Cancelled = e else { return XCTFail("\(e)") }
                XCTAssertEqual(e.errorCode, 2600)
            case .failure(let e):
                XCTFail("\(e)")
            case .success(let result):
                XCTFail("\(result)")
            }
            XCTAssertEqual(c.sims.acquirerMessages(), before)
            let lines = try await c.terminal.transactions()
            XCTAssertTrue(lines.isEmpty)
            // The terminal is free for the next customer.
            c.reader.tap(profile: "mastercard-contactless")
            let next = try await c.terminal.sale(amount: 1_200)
            guard case .approved = next else { return XCTFail("\(next)") }
        }
    }

    func testPaymentsNeedAnActiveTerminal() async throws {
        let counter = try await Counter.open("unbound")
        defer { counter.close() }
        counter.reader.insert(profile: "visa-contact")
        let refused = await posKitError { try await counter.terminal.sale(amount: 1_000) }
        guard let refused, case .NotReady = refused else { return XCTFail("\(String(describing: refused))") }
        XCTAssertEqual(refused.errorCode, 2000)
    }
}
