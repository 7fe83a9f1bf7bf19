// The iPhone's NFC as the terminal's card reader: contactless cards as
// ISO 7816 tags through a Core NFC tag reader session, one APDU per
// transceive.
import CoreNFC
import Foundation
import PosKit

/// Reads contactless cards with Core NFC.
///
/// The terminal calls `detect`, `transceive` and `remove` on its worker
/// threads and each blocks until Core NFC answers, so none of them may run
/// on the main thread. `detect` shows the system's NFC sheet; the sheet
/// closes when the terminal calls `remove` (after the card is read or when
/// the cashier cancels).
///
/// Core NFC offers a card only after one of the application identifiers
/// listed under `com.apple.developer.nfc.readersession.iso7816.select-identifiers`
/// in Info.plist answers; Apple restricts payment applications there, so
/// production acceptance on iPhone goes through Tap to Pay on iPhone with a
/// payment service provider (see docs/mobile.md).
final class CoreNfcCardReader: NSObject, CardReaderDevice, NFCTagReaderSessionDelegate, @unchecked Sendable {
    /// How long one APDU may take before the card counts as gone.
    private let transceiveTimeout: DispatchTimeInterval
    private let queue = DispatchQueue(label: "poskit.corenfc")
    private let lock = NSLock()

    // Guarded by lock.
    private var session: NFCTagReaderSession?
    private var card: NFCISO7816Tag?
    private var waiting: DispatchSemaphore?
    private var found: Result<NFCISO7816Tag, DeviceError>?

    init(transceiveTimeout: DispatchTimeInterval = .seconds(5)) {
        self.transceiveTimeout = transceiveTimeout
    }

    func detect(allowed: CardInterfaces, timeoutMs: UInt64) throws -> DetectedCard {
        guard allowed.contactless else {
            throw DeviceError.Failed(
                reason: "This iPhone reads contactless cards only: ask the customer to tap, or to pay another way")
        }
        guard NFCTagReaderSession.readingAvailable else {
            throw DeviceError.Failed(reason: "This device cannot read NFC cards")
        }
        let signal = DispatchSemaphore(value: 0)
        locked {
            card = nil
            found = nil
            waiting = signal
        }
        DispatchQueue.main.async {
            guard let session = NFCTagReaderSession(pollingOption: [.iso14443], delegate: self, queue: self.queue) else {
                self.finish(with: .failure(.Failed(reason: "Core NFC could not start a reader session")))
                return
            }
            session.alertMessage = "Hold the card near the top of the iPhone"
            self.locked { self.session = session }
            session.begin()
        }

        let wait = DispatchTime.now() + .milliseconds(Int(min(timeoutMs, UInt64(Int32.max))))
        if signal.wait(timeout: wait) == .timedOut {
            endSession(message: nil)
            throw DeviceError.Timeout
        }
        switch locked({ found }) {
        case .success(let tag):
            locked { card = tag }
            return .contactless
        case .failure(let error):
            throw error
        case nil:
            throw DeviceError.Timeout
        }
    }

    func transceive(apdu: Data) throws -> Data {
        guard let tag = locked({ card }) else { throw DeviceError.Removed }
        guard let command = NFCISO7816APDU(data: apdu) else {
            throw DeviceError.Failed(reason: "The terminal sent a malformed APDU (\(apdu.count) bytes)")
        }
        let done = DispatchSemaphore(value: 0)
        var answer: Result<Data, DeviceError> = .failure(.Removed)
        tag.sendCommand(apdu: command) { data, sw1, sw2, error in
            if let error = error as? NFCReaderError {
                answer = .failure(error.code == .readerTransceiveErrorTagConnectionLost
                    ? .Removed
                    : .Failed(reason: "The NFC exchange failed (\(error.code.rawValue)): tap the card again"))
            } else if let error {
                answer = .failure(.Failed(reason: "The NFC exchange failed: \(error.localizedDescription)"))
            } else {
                answer = .success(data + Data([sw1, sw2]))
            }
            done.signal()
        }
        if done.wait(timeout: .now() + transceiveTimeout) == .timedOut {
            throw DeviceError.Removed
        }
        return try answer.get()
    }

    func remove() {
        locked { card = nil }
        finish(with: .failure(.Timeout))
        endSession(message: "Done")
    }

    // MARK: NFCTagReaderSessionDelegate, on `queue`

    func tagReaderSessionDidBecomeActive(_ session: NFCTagReaderSession) {}

    func tagReaderSession(_ session: NFCTagReaderSession, didInvalidateWithError error: Error) {
        locked {
            if self.session === session { self.session = nil }
            card = nil
        }
        let code = (error as? NFCReaderError)?.code
        switch code {
        case .readerSessionInvalidationErrorUserCanceled, .readerSessionInvalidationErrorSessionTimeout,
             .readerSessionInvalidationErrorFirstNDEFTagRead:
            // The sheet was closed or timed out: no card was presented.
            finish(with: .failure(.Timeout))
        default:
            finish(with: .failure(.Failed(reason: "NFC stopped: \(error.localizedDescription)")))
        }
    }

    func tagReaderSession(_ session: NFCTagReaderSession, didDetect tags: [NFCTag]) {
        guard tags.count == 1, case .iso7816(let tag) = tags[0] else {
            session.alertMessage = tags.count > 1 ? "Tap one card only" : "That is no payment card: tap a bank card"
            session.restartPolling()
            return
        }
        session.connect(to: tags[0]) { error in
            if error != nil {
                session.alertMessage = "Hold the card still"
                session.restartPolling()
                return
            }
            session.alertMessage = "Reading the card…"
            self.finish(with: .success(tag))
        }
    }

    // MARK: private

    /// Wakes the waiting `detect` once with `result`.
    private func finish(with result: Result<NFCISO7816Tag, DeviceError>) {
        let signal: DispatchSemaphore? = locked {
            guard let w = waiting else { return nil }
            waiting = nil
            found = result
            return w
        }
        signal?.signal()
    }

    private func endSession(message: String?) {
        guard let session = locked({ () -> NFCTagReaderSession? in
            let s = self.session
            self.session = nil
            return s
        }) else { return }
        if let message {
            session.alertMessage = message
        }
        session.invalidate()
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
