// While a payment runs: the terminal's prompt, the code it shows, the
// cancel button and, in simulator mode, the customer's moves.
import CoreImage.CIFilterBuiltins
import PosKit
import SwiftUI

/// Virtual cards of the simulator: label, profile, tapped.
private let simCards: [(String, String, Bool)] = [
    ("Insert a Visa chip card", "visa-contact", false),
    ("Insert a card that asks for its PIN", "online-pin", false),
    ("Tap a Visa card", "visa-contactless", true),
    ("Tap a UnionPay QuickPass card", "unionpay-qpboc", true),
]

struct PayingView: View {
    let amount: UInt64
    @ObservedObject var cashier: CashierModel

    var body: some View {
        VStack(spacing: 14) {
            Text("¥ \(yuan(amount))").font(.largeTitle)
            Text(cashier.prompt.isEmpty ? "…" : cashier.prompt).font(.title3).multilineTextAlignment(.center)
            if let code = cashier.shownCode {
                QRCodeView(content: code.content).frame(width: 260, height: 260)
                if cashier.simulator {
                    Button("The customer's wallet pays") { cashier.customerPays() }.buttonStyle(.bordered)
                }
            } else if cashier.simulator {
                ForEach(simCards, id: \.1) { card in
                    Button { cashier.present(profile: card.1, tap: card.2) } label: {
                        Text(card.0).frame(maxWidth: .infinity)
                    }
                    .buttonStyle(.bordered)
                }
            }
            Button("Cancel", role: .cancel) { cashier.cancel() }.buttonStyle(.bordered)
        }
        .padding(24)
    }
}

/// The code the terminal shows (TerminalEvent.qrShown), drawn by Core Image.
struct QRCodeView: View {
    let content: String

    var body: some View {
        if let image = Self.render(content) {
            Image(decorative: image, scale: 1)
                .interpolation(.none)
                .resizable()
                .scaledToFit()
                .accessibilityLabel("Payment code for the customer to scan")
        } else {
            Text("The code could not be drawn")
        }
    }

    private static func render(_ content: String) -> CGImage? {
        let filter = CIFilter.qrCodeGenerator()
        filter.message = Data(content.utf8)
        filter.correctionLevel = "M"
        guard let output = filter.outputImage else { return nil }
        return CIContext().createCGImage(output, from: output.extent)
    }
}
