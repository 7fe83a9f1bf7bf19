// The screens, chosen by the cashier's state; PIN entry and application
// choice come on top of whatever is showing when the terminal asks.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.safeDrawingPadding
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.Button
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Switch
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import poskit.cashier.CashierViewModel
import poskit.cashier.ScreenPinPad
import poskit.cashier.Screen

@Composable
fun CashierApp(cashier: CashierViewModel) {
    val state by cashier.state.collectAsStateWithLifecycle()
    val ask by cashier.pinPad.request.collectAsStateWithLifecycle()

    Surface(modifier = Modifier.fillMaxSize().safeDrawingPadding()) {
        Column(modifier = Modifier.fillMaxSize()) {
            if (state.busy) LinearProgressIndicator(modifier = Modifier.fillMaxWidth())
            when (val screen = state.screen) {
                Screen.Start -> StartScreen(state.simulator, cashier::setSimulator, cashier::start)
                Screen.Binding -> BindingScreen(state, cashier)
                Screen.Amount -> AmountScreen(cashier)
                is Screen.Paying -> PayingScreen(screen.amount, state, cashier)
                is Screen.Scan -> ScanScreen(screen.amount, state.simulator, cashier)
                is Screen.Result -> ResultScreen(screen.result, cashier)
                is Screen.Receipt -> ReceiptScreen(screen.text) { cashier.show(Screen.Amount) }
                is Screen.Settlement -> SettlementScreen(screen.result, cashier)
            }
        }
    }

    when (val request = ask) {
        is ScreenPinPad.Request.Pin -> PinDialog(request, cashier.pinPad)
        is ScreenPinPad.Request.Application -> ApplicationDialog(request, cashier.pinPad)
        null -> Unit
    }

    state.error?.let { error ->
        AlertDialog(
            onDismissRequest = cashier::dismissError,
            confirmButton = { TextButton(onClick = cashier::dismissError) { Text("OK") } },
            title = { Text("Not done") },
            text = { Text(error) },
        )
    }
}

@Composable
private fun StartScreen(simulator: Boolean, onSimulator: (Boolean) -> Unit, onStart: () -> Unit) {
    Column(modifier = Modifier.padding(24.dp)) {
        Text("PosKit Cashier", style = MaterialTheme.typography.headlineMedium)
        Text(
            "The terminal runs against simulated hosts in this app. Simulator mode also " +
                "simulates the cards and the PIN pad, so no hardware is needed; without it, " +
                "cards are read with this phone's NFC and the PIN is entered on screen.",
            modifier = Modifier.padding(vertical = 16.dp),
        )
        Row(verticalAlignment = Alignment.CenterVertically) {
            Switch(checked = simulator, onCheckedChange = onSimulator)
            Text("Simulator mode", modifier = Modifier.padding(start = 12.dp))
        }
        Button(onClick = onStart, modifier = Modifier.padding(top = 24.dp)) { Text("Start the terminal") }
    }
}
