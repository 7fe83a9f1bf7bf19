// The screens, chosen by the cashier's state; PIN entry and application
// choice come on top of whatever is showing when the terminal asks.
import PosKit
import SwiftUI

struct ContentView: View {
    @ObservedObject var cashier: CashierModel
    @ObservedObject var pinPad: ScreenPinPad

    var body: some View {
        VStack(spacing: 0) {
            if cashier.busy { ProgressView().progressViewStyle(.linear) }
            screen
                .frame(maxWidth: .infinity, maxHeight: .infinity, alignment: .top)
        }
        .sheet(item: Binding(get: { pinPad.request }, set: { _ in })) { request in
            PinView(request: request).interactiveDismissDisabled()
        }
        .alert(
            "Not done",
            isPresented: Binding(get: { cashier.error != nil }, set: { if !$0 { cashier.error = nil } }),
            actions: { Button("OK") { cashier.error = nil } },
            message: { Text(cashier.error ?? "") }
        )
    }

    @ViewBuilder private var screen: some View {
        switch cashier.screen {
        case .start: StartView(cashier: cashier)
        case .binding: BindingView(cashier: cashier)
        case .amount: AmountView(cashier: cashier)
        case .paying(let amount): PayingView(amount: amount, cashier: cashier)
        case .scan(let amount): ScanView(amount: amount, cashier: cashier)
        case .result(let result): ResultView(result: result, cashier: cashier)
        case .receipt(let text): ReceiptView(text: text) { cashier.screen = .amount }
        case .settlement(let result): SettlementView(result: result, cashier: cashier)
        }
    }
}

struct StartView: View {
    @ObservedObject var cashier: CashierModel

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            Text("PosKit Cashier").font(.largeTitle)
            Text("The terminal runs against simulated hosts in this app. Simulator mode also "
                + "simulates the cards and the PIN pad, so no hardware is needed; without it, "
                + "cards are read with this iPhone's NFC and the PIN is entered on screen.")
            Toggle("Simulator mode", isOn: $cashier.simulator)
            Button("Start the terminal") { cashier.start() }.buttonStyle(.borderedProminent)
        }
        .padding(24)
    }
}
