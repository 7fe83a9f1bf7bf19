package poskit

import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import uniffi.poskit_ffi.CardInterfaces
import uniffi.poskit_ffi.CardReaderDevice
import uniffi.poskit_ffi.DetectedCard
import uniffi.poskit_ffi.SimCardReader
import uniffi.poskit_ffi.probeReaderCrossings

/** A reader implemented in Kotlin, as an app's NFC reader is: each call is a crossing from Rust. */
private class KotlinReader(private val inner: CardReaderDevice) : CardReaderDevice {
    var calls = 0

    override fun detect(allowed: CardInterfaces, timeoutMs: ULong): DetectedCard = inner.detect(allowed, timeoutMs).also { calls++ }

    override fun transceive(apdu: ByteArray): ByteArray = inner.transceive(apdu).also { calls++ }

    override fun remove() = inner.remove().also { calls++ }
}

/**
 * What a crossing costs on this JVM: Rust calling a Kotlin reader (the
 * direction every APDU takes), which here also calls back into Rust's
 * simulated card. Reported, never asserted on time (the figures go in the
 * notes; the crossing count per sale is asserted in bindings/ffi/tests).
 */
class CrossingsTest {
    @Test
    fun `the cost of an APDU crossing`() {
        val sim = SimCardReader()
        sim.tap("visa-contactless")
        val reader = KotlinReader(sim.device())
        reader.detect(CardInterfaces(contact = false, contactless = true, magstripe = false), 1000uL)
        val warmUp = probeReaderCrossings(reader, 2_000u)
        val n = 20_000
        val nanos = probeReaderCrossings(reader, n.toUInt())
        val perCall = nanos.toDouble() / n / 1000.0
        // The same exchanges with the card reached from Rust directly: the
        // difference is the two crossings.
        val direct = probeReaderCrossings(sim.device(), n.toUInt()).toDouble() / n / 1000.0
        println(
            "APDU exchange through a Kotlin reader: %.2f us; from Rust directly: %.2f us; two crossings: %.2f us (warm-up %d ns)"
                .format(perCall, direct, perCall - direct, warmUp.toLong()),
        )
        assertTrue(reader.calls >= n)
    }
}
