// The cardholder's PIN and application choice, on the phone's screen.
package poskit.cashier.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import poskit.cashier.ScreenPinPad
import poskit.cashier.yuan
import uniffi.poskit_ffi.PinEntryResult

@Composable
fun PinDialog(request: ScreenPinPad.Request.Pin, pinPad: ScreenPinPad) {
    // Only in this composable, never in the view model or a log; dropped
    // with the dialog.
    var pin by remember(request) { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = {},
        title = { Text(if (request.lastTry) "PIN (last try)" else "PIN") },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                Text("¥ ${yuan(request.amount)}")
                Text("•".repeat(pin.length).ifEmpty { " " }, style = MaterialTheme.typography.headlineMedium)
                for (row in listOf("123", "456", "789", "C0⌫")) {
                    Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
                        for (key in row) {
                            OutlinedButton(
                                onClick = {
                                    pin =
                                        when (key) {
                                            'C' -> ""
                                            '⌫' -> pin.dropLast(1)
                                            else -> if (pin.length < 12) pin + key else pin
                                        }
                                },
                                modifier = Modifier.weight(1f),
                            ) { Text(key.toString()) }
                        }
                    }
                }
            }
        },
        confirmButton = {
            TextButton(onClick = { pinPad.answer(request, PinEntryResult.Digits(pin)) }, enabled = pin.length >= 4) {
                Text("OK")
            }
        },
        dismissButton = {
            Row {
                if (!request.online) {
                    TextButton(onClick = { pinPad.answer(request, PinEntryResult.Bypassed) }) { Text("No PIN") }
                }
                TextButton(onClick = { pinPad.answer(request, PinEntryResult.Cancelled) }) { Text("Cancel") }
            }
        },
    )
}

@Composable
fun ApplicationDialog(request: ScreenPinPad.Request.Application, pinPad: ScreenPinPad) {
    AlertDialog(
        onDismissRequest = { pinPad.choose(request, null) },
        title = { Text("Pay with") },
        text = {
            Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
                request.labels.forEachIndexed { index, label ->
                    OutlinedButton(onClick = { pinPad.choose(request, index) }) { Text(label) }
                }
            }
        },
        confirmButton = {},
        dismissButton = { TextButton(onClick = { pinPad.choose(request, null) }) { Text("Cancel") } },
    )
}
