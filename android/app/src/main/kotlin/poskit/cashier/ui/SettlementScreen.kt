// End of day: settle the batch with the acquirer.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import poskit.cashier.CashierViewModel
import poskit.cashier.Screen
import poskit.cashier.yuan
import uniffi.poskit_ffi.SettlementResult

@Composable
fun SettlementScreen(result: SettlementResult?, cashier: CashierViewModel) {
    Column(modifier = Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("Settlement", style = MaterialTheme.typography.headlineMedium)
        if (result == null) {
            Text("Sends the day's totals to the acquirer and closes the batch.")
            Button(onClick = cashier::settle) { Text("Settle now") }
        } else {
            Text("Batch ${result.batchNo}: " + if (result.balanced) "balanced" else "totals differed, batch uploaded")
            Text("Debits: ${result.debitCount} for ¥ ${yuan(result.debitAmount.toLong())}")
            Text("Credits: ${result.creditCount} for ¥ ${yuan(result.creditAmount.toLong())}")
            if (result.uploaded > 0u) Text("Transactions uploaded: ${result.uploaded}")
        }
        OutlinedButton(onClick = { cashier.show(Screen.Amount) }) { Text("Back") }
    }
}
