// The Terminal for Kotlin: suspend functions, a Flow of screen events,
// sealed payment results, and cancellation that never leaves a payment
// half-done. Built on the generated bindings (uniffi.poskit_ffi), which
// are not API.
package poskit

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.withContext
import uniffi.poskit_ffi.CancelHandle
import uniffi.poskit_ffi.CardReaderDevice
import uniffi.poskit_ffi.FaultSummary
import uniffi.poskit_ffi.KeystoreDevice
import uniffi.poskit_ffi.LifecycleState
import uniffi.poskit_ffi.MerchantApplication
import uniffi.poskit_ffi.Outcome
import uniffi.poskit_ffi.PinPadDevice
import uniffi.poskit_ffi.PosTerminal
import uniffi.poskit_ffi.PrepaidOperation
import uniffi.poskit_ffi.PrinterDevice
import uniffi.poskit_ffi.SettlementResult
import uniffi.poskit_ffi.SignInResult
import uniffi.poskit_ffi.Status
import uniffi.poskit_ffi.TerminalDevices
import uniffi.poskit_ffi.TerminalEvent
import uniffi.poskit_ffi.TerminalListener
import uniffi.poskit_ffi.TerminalSettings
import uniffi.poskit_ffi.TransactionLine
import uniffi.poskit_ffi.WalletKind
import uniffi.poskit_ffi.openTerminal

/** How the customer pays a sale. */
sealed interface Payment {
    /** Insert, tap or swipe. */
    data object Card : Payment

    /** The customer's wallet shows [code]; the cashier scanned it. */
    data class ScanCode(val code: String) : Payment

    /** The terminal shows a code for the customer's [wallet] to scan. */
    data class ShowCode(val wallet: WalletKind) : Payment
}

/** How a payment ended; [outcome] holds the details (reference, codes, masked card). */
sealed class PaymentResult(val outcome: Outcome) {
    val reference: String? get() = outcome.reference

    class Approved(outcome: Outcome) : PaymentResult(outcome)

    class Declined(outcome: Outcome) : PaymentResult(outcome)

    /** No usable answer: reversed, the customer was not charged. */
    class Reversed(outcome: Outcome) : PaymentResult(outcome)

    class Cancelled(outcome: Outcome) : PaymentResult(outcome)

    /** The wallet has not given its last word; the terminal keeps asking. */
    class Pending(outcome: Outcome) : PaymentResult(outcome)

    class Failed(outcome: Outcome) : PaymentResult(outcome)

    /** Risk control refused it; nothing was sent. */
    class Blocked(outcome: Outcome) : PaymentResult(outcome)

    override fun toString(): String = "${this::class.simpleName}($outcome)"

    companion object {
        fun of(outcome: Outcome): PaymentResult =
            when (outcome.status) {
                Status.APPROVED -> Approved(outcome)
                Status.DECLINED -> Declined(outcome)
                Status.REVERSED -> Reversed(outcome)
                Status.CANCELLED -> Cancelled(outcome)
                Status.PENDING -> Pending(outcome)
                Status.FAILED -> Failed(outcome)
                Status.BLOCKED -> Blocked(outcome)
            }
    }
}

/**
 * A payment terminal. Open it with [Terminal.open]; close it when done.
 *
 * Cancelling the calling coroutine presses the terminal's cancel button:
 * the operation stops where that is safe (waiting for a card, at the PIN
 * prompt, while a wallet waits) and otherwise runs to its end, so a
 * payment is never left half-done. The coroutine then ends with the
 * [CancellationException].
 */
class Terminal private constructor(
    private val inner: PosTerminal,
    private val listener: EventFlow,
) : AutoCloseable {
    /** Screen events, as they happen. */
    val events: SharedFlow<TerminalEvent> = listener.flow.asSharedFlow()

    companion object {
        /** Opens the terminal whose data lives in `settings.dataDir`. */
        suspend fun open(
            settings: TerminalSettings,
            keystore: KeystoreDevice,
            reader: CardReaderDevice,
            pinPad: PinPadDevice,
            printer: PrinterDevice,
        ): Terminal {
            val listener = EventFlow()
            val inner = openTerminal(settings, keystore, TerminalDevices(reader, pinPad, printer, listener))
            return Terminal(inner, listener)
        }
    }

    suspend fun lifecycle(): LifecycleState = inner.lifecycle()

    suspend fun apply(application: MerchantApplication) = whole { inner.apply(application) }

    suspend fun refreshReview() = whole { inner.refreshReview() }

    suspend fun bind(serial: String, model: String) = whole { inner.bind(serial, model) }

    suspend fun signIn(): SignInResult = whole { inner.signIn() }

    suspend fun signOut() = whole { inner.signOut() }

    suspend fun setPaymentMethod(wallet: WalletKind, enabled: Boolean, subMerchantId: String? = null) =
        whole { inner.setPaymentMethod(wallet, enabled, subMerchantId) }

    suspend fun changePassword(old: String, new: String) = whole { inner.changePassword(old, new) }

    /** A sale of [amount] minor units (fen). */
    suspend fun sale(amount: Long, payment: Payment = Payment.Card): PaymentResult =
        cancellable { cancel ->
            val minor = amount.toULong()
            when (payment) {
                Payment.Card -> inner.saleCard(minor, cancel)
                is Payment.ScanCode -> inner.saleQrScan(minor, payment.code, cancel)
                is Payment.ShowCode -> inner.saleQrShow(minor, payment.wallet, cancel)
            }
        }

    suspend fun preAuth(amount: Long): PaymentResult = cancellable { inner.preAuth(amount.toULong(), it) }

    suspend fun complete(reference: String, amount: Long): PaymentResult =
        PaymentResult.of(whole { inner.complete(reference, amount.toULong()) })

    suspend fun balanceInquiry(): PaymentResult = cancellable { inner.balanceInquiry(it) }

    suspend fun void(reference: String): PaymentResult = PaymentResult.of(whole { inner.void(reference) })

    suspend fun refund(reference: String, amount: Long): PaymentResult =
        PaymentResult.of(whole { inner.refund(reference, amount.toULong()) })

    /** A prepaid card operation; without [cardNumber] the card is swiped. */
    suspend fun prepaid(operation: PrepaidOperation, cardNumber: String? = null, askPin: Boolean = false) =
        cancellable { inner.prepaid(operation, cardNumber, askPin, it) }

    suspend fun settle(): SettlementResult = whole { inner.settle() }

    suspend fun transaction(reference: String): TransactionLine = inner.transaction(reference)

    suspend fun transactions(from: Long = 0, to: Long = Long.MAX_VALUE): List<TransactionLine> =
        inner.transactions(from, to)

    suspend fun receiptText(reference: String, merchantCopy: Boolean = false, widthMm: Int = 58): String =
        inner.receiptText(reference, merchantCopy, false, widthMm.toUByte())

    suspend fun printReceipt(reference: String) = whole { inner.printReceipt(reference) }

    suspend fun reprint(reference: String) = whole { inner.reprint(reference) }

    suspend fun faultReport(since: Long = 0): FaultSummary = inner.faultReport(since)

    /** The generated object, for tools such as the simulators' reconciliation. */
    val raw: PosTerminal get() = inner

    override fun close() {
        inner.close()
    }

    /** Runs [op] to its end even if the caller is cancelled: it moves money or binding state. */
    private suspend fun <T> whole(op: suspend () -> T): T = withContext(NonCancellable) { op() }

    /**
     * Runs [op] with a cancel handle; cancelling the caller presses cancel
     * and waits for the terminal to stop cleanly.
     */
    private suspend fun cancellable(op: suspend (CancelHandle) -> Outcome): PaymentResult {
        val handle = CancelHandle()
        try {
            val work = CoroutineScope(NonCancellable).async(start = CoroutineStart.UNDISPATCHED) { op(handle) }
            try {
                return PaymentResult.of(work.await())
            } catch (e: CancellationException) {
                handle.cancel()
                withContext(NonCancellable) { work.join() }
                throw e
            }
        } finally {
            handle.close()
        }
    }
}

/** The listener the Rust side calls; each event goes into a flow. */
internal class EventFlow : TerminalListener {
    val flow =
        MutableSharedFlow<TerminalEvent>(
            replay = 0,
            extraBufferCapacity = 256,
            onBufferOverflow = BufferOverflow.DROP_OLDEST,
        )

    override fun onEvent(event: TerminalEvent) {
        flow.tryEmit(event)
    }
}
