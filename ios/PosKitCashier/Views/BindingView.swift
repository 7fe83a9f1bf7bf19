// Getting the terminal into service: apply, wait for the review, bind to
// the merchant, sign in for the day.
import PosKit
import SwiftUI

struct BindingView: View {
    @ObservedObject var cashier: CashierModel
    @State private var merchantName = "PosKit Demo Store"
    @State private var serial = "SN-IOS-1"
    @State private var model = "iPhone"

    /// The lifecycle's name as the core reports it, without the terminal id.
    private var state: String {
        cashier.lifecycle.components(separatedBy: " ·").first ?? ""
    }

    var body: some View {
        Form {
            Section { Text("State: \(cashier.lifecycle)") }
            Section("1. Apply to the merchant platform") {
                TextField("Merchant name", text: $merchantName)
                Button("Apply") { cashier.apply(merchantName: merchantName) }
                    .disabled(state != "unprovisioned" && state != "rejected")
            }
            Section("2. Wait for the review") {
                Button("Ask again") { cashier.refreshReview() }.disabled(state != "under review")
            }
            Section("3. Bind this device") {
                TextField("Serial number", text: $serial)
                TextField("Model", text: $model)
                Button("Bind") { cashier.bind(serial: serial, model: model) }.disabled(state != "approved")
            }
            Section("4. Sign in for the day") {
                Button("Sign in") { cashier.signIn() }.disabled(state != "bound" && state != "active")
                if state == "active" {
                    Button("Take payments") { cashier.screen = .amount }
                }
            }
        }
    }
}
