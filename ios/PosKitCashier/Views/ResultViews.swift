// How the payment ended, and its receipt.
import PosKit
import SwiftUI

struct ResultView: View {
    let result: PaymentResult
    @ObservedObject var cashier: CashierModel

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(title).font(.largeTitle).foregroundStyle(approved ? Color.green : Color.red)
            ForEach(result.outcome.details, id: \.self) { Text($0) }
            HStack {
                if approved, let reference = result.reference {
                    Button("Receipt") { cashier.receipt(reference: reference) }.buttonStyle(.bordered)
                }
                Button("Next sale") { cashier.screen = .amount }.buttonStyle(.borderedProminent)
            }
            .padding(.top, 16)
        }
        .padding(24)
    }

    private var approved: Bool {
        if case .approved = result { return true }
        return false
    }

    private var title: String {
        switch result {
        case .approved: return "Approved"
        case .declined: return "Declined"
        case .reversed: return "Not charged (reversed)"
        case .cancelled: return "Cancelled"
        case .pending: return "Waiting for the wallet"
        case .failed: return "Failed"
        case .blocked: return "Blocked by risk control"
        }
    }
}

struct ReceiptView: View {
    let text: String
    let done: () -> Void

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                // Receipts are laid out in fixed-width columns for 58 mm paper.
                Text(text).font(.system(.footnote, design: .monospaced))
                Button("Done", action: done).buttonStyle(.borderedProminent)
            }
            .padding(16)
        }
    }
}

struct SettlementView: View {
    let result: SettlementResult?
    @ObservedObject var cashier: CashierModel

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text("Settlement").font(.largeTitle)
            if let result {
                Text("Batch \(result.batchNo): " + (result.balanced ? "balanced" : "totals differed, batch uploaded"))
                Text("Debits: \(result.debitCount) for ¥ \(yuan(result.debitAmount))")
                Text("Credits: \(result.creditCount) for ¥ \(yuan(result.creditAmount))")
                if result.uploaded > 0 { Text("Transactions uploaded: \(result.uploaded)") }
            } else {
                Text("Sends the day's totals to the acquirer and closes the batch.")
                Button("Settle now") { cashier.settle() }.buttonStyle(.borderedProminent)
            }
            Button("Back") { cashier.screen = .amount }.buttonStyle(.bordered)
        }
        .padding(24)
    }
}
