// What the cashier's screen says for each terminal event.
package poskit.cashier

import java.util.Locale
import uniffi.poskit_ffi.Outcome
import uniffi.poskit_ffi.TerminalEvent

/** Minor units (fen) as yuan: 12800 -> "128.00". */
fun yuan(minor: Long): String = String.format(Locale.ROOT, "%d.%02d", minor / 100, minor % 100)

fun TerminalEvent.prompt(): String =
    when (this) {
        is TerminalEvent.PresentCard -> "${yuan(amount.toLong())}: $prompt"
        is TerminalEvent.CardDetected -> "Reading the card…"
        TerminalEvent.UseMagstripe -> "The chip cannot be read: swipe the card"
        is TerminalEvent.InsertCard -> reason
        is TerminalEvent.SelectApplication -> "The customer picks the card's application"
        is TerminalEvent.EnterPin -> if (lastTry) "Enter the PIN (last try)" else "Enter the PIN"
        TerminalEvent.Processing -> "Processing…"
        TerminalEvent.RemoveCard -> "Remove the card"
        is TerminalEvent.Approved -> "Approved ${yuan(amount.toLong())}"
        is TerminalEvent.Declined -> "Declined: $reason"
        is TerminalEvent.QrShown -> "Let the customer scan this code"
        is TerminalEvent.WaitingForPassword -> "The customer confirms the payment in the wallet…"
        is TerminalEvent.WaitingForScan -> "Waiting for the customer to scan…"
        is TerminalEvent.Cancelling -> "Cancelling the order…"
        is TerminalEvent.Reversing -> "Reversing: $reason"
        is TerminalEvent.Printing -> "Printing the $copy copy…"
        is TerminalEvent.RiskAlert -> "Risk check ($verdict): $reason"
        is TerminalEvent.Message -> text
    }

/** The lines of a result screen: nothing but the masked card number. */
fun Outcome.details(): List<String> =
    listOfNotNull(
        "${kind.replace('_', ' ')} ${yuan(amount.toLong())} (${method.name.lowercase().replace('_', ' ')})",
        maskedPan?.let { "Card $it" },
        authCode?.let { "Authorisation $it" },
        rrn?.let { "Reference number $it" },
        reference?.let { "Terminal reference $it" },
        responseCode?.let { "Response code $it" },
        message,
        if (signatureRequired) "The customer signs the merchant copy" else null,
    )
