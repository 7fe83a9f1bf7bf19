// The cardholder's PIN and application choice, on the iPhone's screen.
import PosKit
import SwiftUI

struct PinView: View {
    let request: ScreenPinPad.Request
    // Only in this view, never in the model or a log; dropped with it.
    @State private var pin = ""

    private let keys = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["C", "0", "⌫"]]

    var body: some View {
        switch request.kind {
        case .pin(let online, let lastTry, let amount):
            VStack(spacing: 12) {
                Text(lastTry ? "PIN (last try)" : "PIN").font(.title)
                Text("¥ \(yuan(amount))")
                Text(String(repeating: "•", count: pin.count)).font(.largeTitle).frame(minHeight: 44)
                ForEach(keys, id: \.self) { row in
                    HStack(spacing: 12) {
                        ForEach(row, id: \.self) { key in
                            Button { press(key) } label: {
                                Text(key).font(.title).frame(maxWidth: .infinity, minHeight: 52)
                            }
                            .buttonStyle(.bordered)
                        }
                    }
                }
                HStack {
                    Button("Cancel", role: .cancel) { request.answer(.cancelled) }
                    if !online {
                        Button("No PIN") { request.answer(.bypassed) }
                    }
                    Button("OK") { request.answer(.digits(pin: pin)) }
                        .buttonStyle(.borderedProminent)
                        .disabled(pin.count < 4)
                }
            }
            .padding(24)
        case .application(let labels):
            VStack(spacing: 12) {
                Text("Pay with").font(.title)
                ForEach(Array(labels.enumerated()), id: \.offset) { item in
                    Button(item.element) { request.choose(item.offset) }.buttonStyle(.bordered)
                }
                Button("Cancel", role: .cancel) { request.choose(nil) }
            }
            .padding(24)
        }
    }

    private func press(_ key: String) {
        switch key {
        case "C": pin = ""
        case "⌫": pin = String(pin.dropLast())
        default: if pin.count < 12 { pin += key }
        }
    }
}
