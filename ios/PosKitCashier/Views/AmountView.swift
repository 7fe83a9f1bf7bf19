// The amount keypad and the ways to take it.
import PosKit
import SwiftUI

/// Up to 99 999 999.99: the host's amount field has 12 digits.
private let maxMinor: UInt64 = 9_999_999_999

struct AmountView: View {
    @ObservedObject var cashier: CashierModel
    @State private var minor: UInt64 = 0

    private let keys = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"], ["00", "0", "⌫"]]
    private let wallets: [(String, WalletKind)] = [("WeChat", .wechatPay), ("Alipay", .alipay), ("UnionPay", .unionpayQr)]

    var body: some View {
        VStack(spacing: 10) {
            HStack {
                Button("Settlement") { cashier.screen = .settlement(nil) }
                Spacer()
                Button("Terminal") { cashier.screen = .binding }
            }
            Text("¥ \(yuan(minor))")
                .font(.system(size: 44, weight: .medium, design: .rounded))
                .frame(maxWidth: .infinity, alignment: .trailing)
            ForEach(keys, id: \.self) { row in
                HStack(spacing: 10) {
                    ForEach(row, id: \.self) { key in
                        Button { press(key) } label: {
                            Text(key).font(.title).frame(maxWidth: .infinity, minHeight: 48)
                        }
                        .buttonStyle(.bordered)
                    }
                }
            }
            Button { cashier.pay(amount: minor, payment: .card) } label: {
                Text("Card").frame(maxWidth: .infinity)
            }
            .buttonStyle(.borderedProminent)
            .disabled(minor == 0)
            Button { cashier.screen = .scan(amount: minor) } label: {
                Text("Scan the customer's code").frame(maxWidth: .infinity)
            }
            .buttonStyle(.bordered)
            .disabled(minor == 0)
            HStack {
                ForEach(wallets, id: \.0) { wallet in
                    Button { cashier.pay(amount: minor, payment: .showCode(wallet.1)) } label: {
                        Text(wallet.0).frame(maxWidth: .infinity)
                    }
                    .buttonStyle(.bordered)
                    .disabled(minor == 0)
                }
            }
        }
        .padding(16)
    }

    private func press(_ key: String) {
        if key == "⌫" {
            minor /= 10
        } else if let next = UInt64(String(minor) + key), next <= maxMinor {
            minor = next
        }
    }
}
