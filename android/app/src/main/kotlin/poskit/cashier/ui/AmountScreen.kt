// The amount keypad and the ways to take it.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.FilledTonalButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.style.TextAlign
import androidx.compose.ui.unit.dp
import poskit.Payment
import poskit.cashier.CashierViewModel
import poskit.cashier.Screen
import poskit.cashier.yuan
import uniffi.poskit_ffi.WalletKind

/** Up to 99 999 999.99: the host's amount field has 12 digits. */
private const val MAX_MINOR = 9_999_999_999L

@Composable
fun AmountScreen(cashier: CashierViewModel) {
    var minor by rememberSaveable { mutableLongStateOf(0L) }
    fun type(digits: String) {
        val next = minor.toString() + digits
        next.toLongOrNull()?.takeIf { it <= MAX_MINOR }?.let { minor = it }
    }

    Column(modifier = Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            TextButton(onClick = { cashier.show(Screen.Settlement(null)) }) { Text("Settlement") }
            TextButton(onClick = { cashier.show(Screen.Binding) }) { Text("Terminal") }
        }
        Text(
            "¥ ${yuan(minor)}",
            style = MaterialTheme.typography.displayMedium,
            textAlign = TextAlign.End,
            modifier = Modifier.fillMaxWidth(),
        )
        for (row in listOf(listOf("1", "2", "3"), listOf("4", "5", "6"), listOf("7", "8", "9"), listOf("00", "0", "⌫"))) {
            Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                for (key in row) {
                    OutlinedButton(
                        onClick = { if (key == "⌫") minor /= 10 else type(key) },
                        modifier = Modifier.weight(1f),
                    ) { Text(key, style = MaterialTheme.typography.headlineSmall) }
                }
            }
        }
        val ready = minor > 0
        Button(onClick = { cashier.pay(minor, Payment.Card) }, enabled = ready, modifier = Modifier.fillMaxWidth()) {
            Text("Card")
        }
        FilledTonalButton(
            onClick = { cashier.show(Screen.Scan(minor)) },
            enabled = ready,
            modifier = Modifier.fillMaxWidth(),
        ) { Text("Scan the customer's code") }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            for ((label, wallet) in listOf("WeChat" to WalletKind.WECHAT_PAY, "Alipay" to WalletKind.ALIPAY, "UnionPay" to WalletKind.UNIONPAY_QR)) {
                FilledTonalButton(
                    onClick = { cashier.pay(minor, Payment.ShowCode(wallet)) },
                    enabled = ready,
                    modifier = Modifier.weight(1f),
                ) { Text(label) }
            }
        }
    }
}
