// How the payment ended, and its receipt.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.unit.dp
import poskit.PaymentResult
import poskit.cashier.CashierViewModel
import poskit.cashier.Screen
import poskit.cashier.details

@Composable
fun ResultScreen(result: PaymentResult, cashier: CashierViewModel) {
    val (title, colour) =
        when (result) {
            is PaymentResult.Approved -> "Approved" to MaterialTheme.colorScheme.primary
            is PaymentResult.Declined -> "Declined" to MaterialTheme.colorScheme.error
            is PaymentResult.Reversed -> "Not charged (reversed)" to MaterialTheme.colorScheme.error
            is PaymentResult.Cancelled -> "Cancelled" to MaterialTheme.colorScheme.error
            is PaymentResult.Pending -> "Waiting for the wallet" to MaterialTheme.colorScheme.tertiary
            is PaymentResult.Failed -> "Failed" to MaterialTheme.colorScheme.error
            is PaymentResult.Blocked -> "Blocked by risk control" to MaterialTheme.colorScheme.error
        }
    Column(modifier = Modifier.padding(24.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(title, style = MaterialTheme.typography.headlineLarge, color = colour)
        for (line in result.outcome.details()) Text(line)
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp), modifier = Modifier.padding(top = 16.dp)) {
            val reference = result.reference
            if (reference != null && result is PaymentResult.Approved) {
                OutlinedButton(onClick = { cashier.receipt(reference) }) { Text("Receipt") }
            }
            Button(onClick = { cashier.show(Screen.Amount) }) { Text("Next sale") }
        }
    }
}

@Composable
fun ReceiptScreen(text: String, onDone: () -> Unit) {
    Column(modifier = Modifier.padding(16.dp).verticalScroll(rememberScrollState())) {
        // Receipts are laid out in fixed-width columns for 58 mm paper.
        Text(text, fontFamily = FontFamily.Monospace, style = MaterialTheme.typography.bodySmall)
        Button(onClick = onDone, modifier = Modifier.padding(top = 16.dp)) { Text("Done") }
    }
}
