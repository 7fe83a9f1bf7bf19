// Getting the terminal into service: apply, wait for the review, bind to
// the merchant, sign in for the day.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import poskit.cashier.CashierState
import poskit.cashier.CashierViewModel
import poskit.cashier.Screen

@Composable
fun BindingScreen(state: CashierState, cashier: CashierViewModel) {
    var merchantName by rememberSaveable { mutableStateOf("PosKit Demo Store") }
    var serial by rememberSaveable { mutableStateOf("SN-ANDROID-1") }
    var model by rememberSaveable { mutableStateOf("Phone") }
    // The lifecycle's name as the core reports it, terminal id appended.
    val lifecycle = state.lifecycle.substringBefore(" ·")

    Column(
        modifier = Modifier.padding(24.dp).verticalScroll(rememberScrollState()),
        verticalArrangement = Arrangement.spacedBy(12.dp),
    ) {
        Text("Terminal", style = MaterialTheme.typography.headlineMedium)
        Text("State: ${state.lifecycle}")

        Text("1. Apply to the merchant platform", style = MaterialTheme.typography.titleMedium)
        OutlinedTextField(value = merchantName, onValueChange = { merchantName = it }, label = { Text("Merchant name") })
        Button(onClick = { cashier.apply(merchantName) }, enabled = lifecycle == "unprovisioned" || lifecycle == "rejected") {
            Text("Apply")
        }

        Text("2. Wait for the review", style = MaterialTheme.typography.titleMedium)
        Button(onClick = cashier::refreshReview, enabled = lifecycle == "under review") { Text("Ask again") }

        Text("3. Bind this device", style = MaterialTheme.typography.titleMedium)
        OutlinedTextField(value = serial, onValueChange = { serial = it }, label = { Text("Serial number") })
        OutlinedTextField(value = model, onValueChange = { model = it }, label = { Text("Model") })
        Button(onClick = { cashier.bind(serial, model) }, enabled = lifecycle == "approved") { Text("Bind") }

        Text("4. Sign in for the day", style = MaterialTheme.typography.titleMedium)
        Button(onClick = cashier::signIn, enabled = lifecycle == "bound" || lifecycle == "active") { Text("Sign in") }
        if (lifecycle == "active") {
            Button(onClick = { cashier.show(Screen.Amount) }) { Text("Take payments") }
        }
    }
}
