// While a payment runs: the terminal's prompt, the code it shows, the
// cancel button and, in simulator mode, the customer's moves.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import poskit.cashier.CashierState
import poskit.cashier.CashierViewModel
import poskit.cashier.yuan

/** Virtual cards of the simulator: (label, profile, tapped). */
private val SIM_CARDS =
    listOf(
        Triple("Insert a Visa chip card", "visa-contact", false),
        Triple("Insert a card that asks for its PIN", "online-pin", false),
        Triple("Tap a Visa card", "visa-contactless", true),
        Triple("Tap a UnionPay QuickPass card", "unionpay-qpboc", true),
    )

@Composable
fun PayingScreen(amount: Long, state: CashierState, cashier: CashierViewModel) {
    Column(
        modifier = Modifier.padding(24.dp).fillMaxWidth(),
        horizontalAlignment = Alignment.CenterHorizontally,
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("¥ ${yuan(amount)}", style = MaterialTheme.typography.displaySmall)
        Text(state.prompt.ifEmpty { "…" }, style = MaterialTheme.typography.titleLarge)
        state.shownCode?.let { code ->
            QrCode(code.content, modifier = Modifier.size(260.dp))
            if (state.simulator) {
                OutlinedButton(onClick = cashier::customerPays) { Text("The customer's wallet pays") }
            }
        }
        if (state.simulator && state.shownCode == null) {
            for ((label, profile, tap) in SIM_CARDS) {
                OutlinedButton(onClick = { cashier.present(profile, tap) }, modifier = Modifier.fillMaxWidth()) {
                    Text(label)
                }
            }
        }
        OutlinedButton(onClick = cashier::cancel) { Text("Cancel") }
    }
}
