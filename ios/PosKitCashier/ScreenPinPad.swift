// PIN on glass and application choice on the iPhone's screen, bridged from
// the terminal's blocking device calls to SwiftUI.
import Foundation
import PosKit

/// The terminal calls `enterPin` and `chooseApplication` on one of its
/// worker threads and waits for the answer; the screen shows `request` and
/// answers it. No answer within `timeout` cancels.
///
/// A demo: a production app takes PINs with a certified PIN pad or a
/// certified PIN-on-glass component, which returns an encrypted block
/// (`PinEntryResult.block`) instead of digits.
final class ScreenPinPad: ObservableObject, PinPadDevice, @unchecked Sendable {
    /// One question to the cardholder, answered once.
    final class Request: Identifiable, @unchecked Sendable {
        enum Kind {
            case pin(online: Bool, lastTry: Bool, amount: UInt64)
            case application(labels: [String])
        }

        let id = UUID()
        let kind: Kind
        private let lock = NSLock()
        private let answered = DispatchSemaphore(value: 0)
        private var pin: PinEntryResult = .cancelled
        private var choice: UInt32?
        private var done = false

        fileprivate init(_ kind: Kind) {
            self.kind = kind
        }

        func answer(_ result: PinEntryResult) {
            settle { pin = result }
        }

        /// The application picked, by index; nil cancels.
        func choose(_ index: Int?) {
            settle { choice = index.map { UInt32($0) } }
        }

        fileprivate func wait(_ timeout: DispatchTimeInterval) -> (PinEntryResult, UInt32?) {
            if answered.wait(timeout: .now() + timeout) == .timedOut {
                settle { pin = .cancelled; choice = nil }
            }
            lock.lock()
            defer { lock.unlock() }
            return (pin, choice)
        }

        private func settle(_ update: () -> Void) {
            lock.lock()
            defer { lock.unlock() }
            guard !done else { return }
            done = true
            update()
            answered.signal()
        }
    }

    /// What the screen must ask now, if anything. Changed on the main thread.
    @Published private(set) var request: Request?

    private let timeout: DispatchTimeInterval

    init(timeout: DispatchTimeInterval = .seconds(60)) {
        self.timeout = timeout
    }

    /// Answers whatever is asked with "cancelled" (the cashier cancelled the payment).
    func cancelPending() {
        guard let request else { return }
        request.answer(.cancelled)
        request.choose(nil)
    }

    func enterPin(online: Bool, lastTry: Bool, amount: UInt64) -> PinEntryResult {
        ask(Request(.pin(online: online, lastTry: lastTry, amount: amount))).0
    }

    func chooseApplication(labels: [String]) -> UInt32? {
        ask(Request(.application(labels: labels))).1
    }

    // On the terminal's worker thread, which may block.
    private func ask(_ request: Request) -> (PinEntryResult, UInt32?) {
        DispatchQueue.main.async { self.request = request }
        let answer = request.wait(timeout)
        DispatchQueue.main.async {
            if self.request === request { self.request = nil }
        }
        return answer
    }
}
