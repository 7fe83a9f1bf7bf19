// PIN on glass and application choice on the phone's screen, bridged from
// the terminal's blocking device calls to Compose.
package poskit.cashier

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import uniffi.poskit_ffi.PinEntryResult
import uniffi.poskit_ffi.PinPadDevice

/**
 * The terminal calls [enterPin] and [chooseApplication] on one of its
 * worker threads and waits for the answer; the screen shows [request] and
 * answers through [answer] or [choose]. No answer within [timeoutMs]
 * cancels.
 *
 * A demo: a production app takes PINs with a certified PIN pad or a
 * certified PIN-on-glass component, which returns an encrypted block
 * (`PinEntryResult.Block`) instead of digits.
 */
class ScreenPinPad(private val timeoutMs: Long = 60_000) : PinPadDevice {
    sealed interface Request {
        class Pin(
            val online: Boolean,
            val lastTry: Boolean,
            /** Minor units, for the display. */
            val amount: Long,
            internal val reply: CompletableDeferred<PinEntryResult> = CompletableDeferred(),
        ) : Request

        class Application(
            val labels: List<String>,
            internal val reply: CompletableDeferred<Int?> = CompletableDeferred(),
        ) : Request
    }

    private val pending = MutableStateFlow<Request?>(null)

    /** What the screen must ask now, if anything. */
    val request: StateFlow<Request?> = pending.asStateFlow()

    fun answer(request: Request.Pin, result: PinEntryResult) {
        request.reply.complete(result)
    }

    /** The application picked, by index; `null` cancels. */
    fun choose(request: Request.Application, index: Int?) {
        request.reply.complete(index)
    }

    /** Answers whatever is asked with "cancelled" (the cashier cancelled the payment). */
    fun cancelPending() {
        when (val r = pending.value) {
            is Request.Pin -> r.reply.complete(PinEntryResult.Cancelled)
            is Request.Application -> r.reply.complete(null)
            null -> Unit
        }
    }

    override fun enterPin(online: Boolean, lastTry: Boolean, amount: ULong): PinEntryResult {
        val request = Request.Pin(online, lastTry, amount.toLong())
        return ask(request, request.reply) ?: PinEntryResult.Cancelled
    }

    override fun chooseApplication(labels: List<String>): UInt? {
        val request = Request.Application(labels)
        return ask(request, request.reply)?.toUInt()
    }

    // On the terminal's worker thread, which may block.
    private fun <T> ask(request: Request, reply: CompletableDeferred<T>): T? {
        pending.value = request
        try {
            return runBlocking { withTimeoutOrNull(timeoutMs) { reply.await() } }
        } finally {
            pending.compareAndSet(request, null)
        }
    }
}
