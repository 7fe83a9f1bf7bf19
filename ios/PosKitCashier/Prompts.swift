// What the cashier's screen says for each terminal event.
import Foundation
import PosKit

/// Minor units (fen) as yuan: 12800 -> "128.00".
func yuan(_ minor: UInt64) -> String {
    String(format: "%llu.%02llu", minor / 100, minor % 100)
}

extension TerminalEvent {
    var prompt: String {
        switch self {
        case .presentCard(let amount, let prompt): return "\(yuan(amount)): \(prompt)"
        case .cardDetected: return "Reading the card…"
        case .useMagstripe: return "The chip cannot be read: swipe the card"
        case .insertCard(let reason): return reason
        case .selectApplication: return "The customer picks the card's application"
        case .enterPin(_, let lastTry): return lastTry ? "Enter the PIN (last try)" : "Enter the PIN"
        case .processing: return "Processing…"
        case .removeCard: return "Remove the card"
        case .approved(_, let amount, _): return "Approved \(yuan(amount))"
        case .declined(_, let reason): return "Declined: \(reason)"
        case .qrShown: return "Let the customer scan this code"
        case .waitingForPassword: return "The customer confirms the payment in the wallet…"
        case .waitingForScan: return "Waiting for the customer to scan…"
        case .cancelling: return "Cancelling the order…"
        case .reversing(let reason): return "Reversing: \(reason)"
        case .printing(let copy): return "Printing the \(copy) copy…"
        case .riskAlert(_, let verdict, let reason): return "Risk check (\(verdict)): \(reason)"
        case .message(let text): return text
        }
    }
}

extension Outcome {
    /// The lines of a result screen: nothing but the masked card number.
    var details: [String] {
        [
            "\(kind.replacingOccurrences(of: "_", with: " ")) \(yuan(amount))",
            maskedPan.map { "Card \($0)" },
            authCode.map { "Authorisation \($0)" },
            rrn.map { "Reference number \($0)" },
            reference.map { "Terminal reference \($0)" },
            responseCode.map { "Response code \($0)" },
            message,
            signatureRequired ? "The customer signs the merchant copy" : nil,
        ].compactMap { $0 }
    }
}
