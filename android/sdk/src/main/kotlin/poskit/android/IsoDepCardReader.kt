// The phone's NFC as the terminal's card reader: contactless cards only,
// one APDU per transceive over ISO-DEP (ISO 14443-4), polling in NFC
// reader mode only while the terminal waits for a card.
package poskit.android

import android.app.Activity
import android.content.Context
import android.nfc.NfcAdapter
import android.nfc.Tag
import android.nfc.TagLostException
import android.nfc.tech.IsoDep
import android.os.Bundle
import android.os.Handler
import android.os.Looper
import java.io.IOException
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import uniffi.poskit_ffi.CardInterfaces
import uniffi.poskit_ffi.CardReaderDevice
import uniffi.poskit_ffi.DetectedCard
import uniffi.poskit_ffi.DeviceException

/**
 * Reads contactless cards with the phone's NFC.
 *
 * Reader mode needs a resumed activity: call [attach] from the activity's
 * `onResume` and [detach] from its `onPause`. A card wait that starts
 * while no activity is attached begins polling on the next [attach].
 *
 * The terminal calls [detect], [transceive] and [remove] from its worker
 * threads; each may block (detect for up to its timeout). Never call them
 * on the main thread.
 */
class IsoDepCardReader(
    context: Context,
    /** How long one APDU may take before the card counts as gone. */
    private val transceiveTimeoutMs: Int = 5_000,
) : CardReaderDevice {
    private val adapter: NfcAdapter? = NfcAdapter.getDefaultAdapter(context)
    private val main = Handler(Looper.getMainLooper())
    private val lock = Any()

    // Guarded by lock.
    private var activity: Activity? = null
    private var waiting: LinkedBlockingQueue<Found>? = null
    private var card: IsoDep? = null

    private sealed interface Found {
        class Card(val tag: Tag) : Found

        /** [remove] stopped the wait. */
        data object Stopped : Found
    }

    // Called on an NFC binder thread for each tag that enters the field.
    private val onTag = NfcAdapter.ReaderCallback { tag ->
        synchronized(lock) { waiting }?.offer(Found.Card(tag))
    }

    /** Whether this device has NFC at all. */
    val available: Boolean get() = adapter != null

    /** From `onResume`: resumes polling when the terminal waits for a card. */
    fun attach(activity: Activity) {
        synchronized(lock) {
            this.activity = activity
            if (waiting != null) startPolling(activity)
        }
    }

    /** From `onPause`: the system stops reader mode with the activity. */
    fun detach(activity: Activity) {
        synchronized(lock) {
            if (this.activity === activity) this.activity = null
        }
        stopPolling(activity)
    }

    override fun detect(allowed: CardInterfaces, timeoutMs: ULong): DetectedCard {
        if (!allowed.contactless) {
            throw DeviceException.Failed(
                "This phone reads contactless cards only: ask the customer to tap, or to pay another way",
            )
        }
        val nfc = adapter ?: throw DeviceException.Failed("This device has no NFC: it cannot read cards")
        if (!nfc.isEnabled) throw DeviceException.Failed("NFC is off: turn it on in the settings, then try again")

        val found = LinkedBlockingQueue<Found>()
        synchronized(lock) {
            closeCard()
            waiting = found
            activity?.let(::startPolling)
        }
        val next =
            try {
                found.poll(timeoutMs.coerceAtMost(Long.MAX_VALUE.toULong()).toLong(), TimeUnit.MILLISECONDS)
            } catch (e: InterruptedException) {
                Thread.currentThread().interrupt()
                null
            }
        val current =
            synchronized(lock) {
                if (waiting === found) waiting = null
                activity
            }
        return when (next) {
            is Found.Card -> connect(next.tag)
            Found.Stopped -> throw DeviceException.Timeout()
            null -> {
                current?.let(::stopPolling)
                throw DeviceException.Timeout()
            }
        }
    }

    override fun transceive(apdu: ByteArray): ByteArray {
        val dep = synchronized(lock) { card } ?: throw DeviceException.Removed()
        return try {
            dep.transceive(apdu)
        } catch (e: TagLostException) {
            throw DeviceException.Removed()
        } catch (e: SecurityException) {
            // The tag object went stale: the card left and came back.
            throw DeviceException.Removed()
        } catch (e: IOException) {
            throw DeviceException.Failed("The NFC exchange failed (${e.javaClass.simpleName}): tap the card again")
        }
    }

    override fun remove() {
        val stopped: LinkedBlockingQueue<Found>?
        val current: Activity?
        synchronized(lock) {
            stopped = waiting
            waiting = null
            current = activity
            closeCard()
        }
        stopped?.offer(Found.Stopped)
        current?.let(::stopPolling)
    }

    private fun connect(tag: Tag): DetectedCard {
        val dep =
            IsoDep.get(tag)
                ?: throw DeviceException.Failed("That is no payment card (no ISO-DEP chip): tap a bank card")
        try {
            dep.connect()
            dep.timeout = transceiveTimeoutMs
        } catch (e: IOException) {
            throw DeviceException.Removed()
        } catch (e: SecurityException) {
            throw DeviceException.Removed()
        }
        synchronized(lock) { card = dep }
        return DetectedCard.Contactless
    }

    // Called with lock held.
    private fun closeCard() {
        try {
            card?.close()
        } catch (e: IOException) {
            // Already gone: nothing to power off.
        }
        card = null
    }

    private fun startPolling(activity: Activity) {
        val nfc = adapter ?: return
        main.post {
            try {
                val extras = Bundle().apply { putInt(NfcAdapter.EXTRA_READER_PRESENCE_CHECK_DELAY, PRESENCE_CHECK_MS) }
                nfc.enableReaderMode(activity, onTag, READER_FLAGS, extras)
            } catch (e: IllegalStateException) {
                // The activity is no longer resumed; attach() starts again.
            }
        }
    }

    private fun stopPolling(activity: Activity) {
        val nfc = adapter ?: return
        main.post {
            try {
                nfc.disableReaderMode(activity)
            } catch (e: IllegalStateException) {
                // Not resumed: the system already stopped reader mode.
            }
        }
    }

    private companion object {
        // Payment cards are type A or B; skipping the NDEF probe saves time
        // and APDUs, and the app (not the platform) beeps when it is done.
        const val READER_FLAGS =
            NfcAdapter.FLAG_READER_NFC_A or NfcAdapter.FLAG_READER_NFC_B or
                NfcAdapter.FLAG_READER_SKIP_NDEF_CHECK or NfcAdapter.FLAG_READER_NO_PLATFORM_SOUNDS
        const val PRESENCE_CHECK_MS = 250
    }
}
