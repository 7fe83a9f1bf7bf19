import SwiftUI

@main
struct PosKitCashierApp: App {
    @StateObject private var cashier = CashierModel()

    var body: some Scene {
        WindowGroup {
            ContentView(cashier: cashier, pinPad: cashier.pinPad)
        }
    }
}
