package poskit

import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.poskit_ffi.Method
import uniffi.poskit_ffi.MemoryPrinter
import uniffi.poskit_ffi.PosKitException
import uniffi.poskit_ffi.SimCardReader
import uniffi.poskit_ffi.SimEnvironment
import uniffi.poskit_ffi.SoftwareKeystore
import uniffi.poskit_ffi.TerminalEvent
import uniffi.poskit_ffi.WalletKind
import uniffi.poskit_ffi.startSimulators

/** A terminal on simulated devices, against the simulated hosts over loopback TLS. */
private class Counter(
    val sims: SimEnvironment,
    val terminal: Terminal,
    val reader: SimCardReader,
    val printer: MemoryPrinter,
) : AutoCloseable {
    val events = mutableListOf<TerminalEvent>()
    lateinit var scope: CoroutineScope

    override fun close() {
        terminal.close()
        sims.close()
    }
}

private suspend fun openCounter(name: String, userPayingDelayMs: Long = 600): Counter {
    val sims = startSimulators(userPayingDelayMs.toULong())
    val dir = Files.createTempDirectory("poskit-kotlin-$name")
    val reader = SimCardReader()
    val printer = MemoryPrinter()
    val keystore = SoftwareKeystore(ByteArray(32) { it.toByte() })
    val terminal =
        Terminal.open(
            sims.settings(dir.toString(), "SN-KT-$name"),
            keystore.device(),
            reader.device(),
            reader.pinPad().device(),
            printer.device(),
        )
    return Counter(sims, terminal, reader, printer)
}

/** Onboarding, binding, the acquirer learns the terminal, sign-in. */
private suspend fun Counter.activate() {
    terminal.apply(sims.sampleApplication())
    repeat(5) {
        if (terminal.lifecycle().state == "under review") terminal.refreshReview()
    }
    terminal.bind("SN-KT-1", "P10")
    val tid = terminal.lifecycle().terminalId!!
    sims.enrol(tid)
    val signIn = terminal.signIn()
    assertTrue(signIn.parameters > 0u)
    assertEquals("active", terminal.lifecycle().state)
}

/** Runs [block] with the screen events collected into `events`. */
private fun counterTest(name: String, delayMs: Long = 600, block: suspend Counter.() -> Unit) =
    runBlocking {
        openCounter(name, delayMs).use { c ->
            c.scope = this
            val collector = launch(start = CoroutineStart.UNDISPATCHED) { c.terminal.events.collect { c.events.add(it) } }
            try {
                c.activate()
                c.block()
            } finally {
                collector.cancelAndJoin()
            }
        }
    }

private suspend fun Counter.reconciled() {
    val r = sims.reconcile(terminal.raw)
    assertTrue(r.mismatches.isEmpty(), r.mismatches.toString())
    assertTrue(r.cardChecked + r.qrChecked > 0u)
}

class TerminalTest {
    @Test
    fun `a contact sale with online PIN shows each step and prints`() =
        counterTest("contact") {
            reader.insert("online-pin")
            val result = terminal.sale(12_800)
            assertTrue(result is PaymentResult.Approved, result.toString())
            val outcome = result.outcome
            assertEquals(Method.CONTACT, outcome.method)
            assertTrue(outcome.maskedPan!!.contains("*"))
            assertTrue(events.any { it is TerminalEvent.EnterPin && it.online })
            assertTrue(events.any { it is TerminalEvent.Approved })
            terminal.printReceipt(result.reference!!)
            assertEquals(2, printer.jobs().size)
            val text = terminal.receiptText(result.reference!!)
            assertTrue(text.contains("128.00"), text)
            assertFalse(text.contains("6230580000000000039"))
            reconciled()
        }

    @Test
    fun `a contactless sale needs no PIN under the CVM limit`() =
        counterTest("contactless") {
            reader.tap("visa-contactless")
            val result = terminal.sale(4_500)
            assertTrue(result is PaymentResult.Approved, result.toString())
            assertEquals(Method.CONTACTLESS, result.outcome.method)
            assertFalse(events.any { it is TerminalEvent.EnterPin })
            reconciled()
        }

    @Test
    fun `a QR payment waits for the customer's password`() =
        counterTest("qr") {
            // Amounts ending in 61: the wallet asks the customer for the password first.
            val result = terminal.sale(8_861, Payment.ScanCode("134567890123456789"))
            assertTrue(result is PaymentResult.Approved, result.toString())
            assertEquals(Method.QR_SCANNED, result.outcome.method)
            assertTrue(events.any { it is TerminalEvent.WaitingForPassword })

            // The terminal shows a code; the customer's wallet pays it.
            val payer =
                scope.launch {
                    while (true) {
                        delay(100)
                        val open = sims.openOrders()
                        if (open.isNotEmpty()) {
                            sims.customerPays(open.first())
                            break
                        }
                    }
                }
            val shown = terminal.sale(2_500, Payment.ShowCode(WalletKind.ALIPAY))
            payer.join()
            assertTrue(shown is PaymentResult.Approved, shown.toString())
            assertTrue(events.any { it is TerminalEvent.QrShown })

            // An unknown code is refused before anything is sent.
            val e = assertThrows<PosKitException.PaymentCode> { runBlocking { terminal.sale(100, Payment.ScanCode("99999")) } }
            assertEquals(2400, e.errorCode)
            reconciled()
        }

    @Test
    fun `a refund, and a void`() =
        counterTest("refund") {
            reader.insert("mastercard-contact")
            val sale = terminal.sale(40_000)
            val refund = terminal.refund(sale.reference!!, 10_000)
            assertTrue(refund is PaymentResult.Approved, refund.toString())
            assertEquals(10_000uL, terminal.transaction(sale.reference!!).refunded)
            val tooMuch = assertThrows<PosKitException.CardholderAction> { runBlocking { terminal.refund(sale.reference!!, 40_000) } }
            assertTrue(tooMuch.reason.contains("left to refund"), tooMuch.reason)

            reader.insert("visa-contact")
            val other = terminal.sale(3_000)
            val void = terminal.void(other.reference!!)
            assertTrue(void is PaymentResult.Approved, void.toString())
            assertEquals("voided", terminal.transaction(other.reference!!).state)
            reconciled()
        }

    @Test
    fun `a host timeout is reversed before the next sale`() =
        counterTest("timeout") {
            // Amounts ending in 98: the acquirer never answers.
            reader.insert("visa-contact")
            val lost = terminal.sale(7_798)
            assertTrue(lost is PaymentResult.Reversed, lost.toString())
            assertTrue(events.any { it is TerminalEvent.Reversing })
            reader.insert("visa-contact")
            assertTrue(terminal.sale(1_000) is PaymentResult.Approved)
            assertEquals("reversed", terminal.transaction(lost.reference!!).state)
            val faults = terminal.faultReport()
            assertEquals(1uL, faults.byClass.first { it.`class` == "host_timeout" }.count)
            reconciled()
        }

    @Test
    fun `binding operations and a balanced settlement`() =
        counterTest("settle") {
            terminal.setPaymentMethod(WalletKind.WECHAT_PAY, true, "1900000109")
            terminal.changePassword("246810", "135790")
            for (profile in listOf("visa-contact", "mastercard-contact")) {
                reader.insert(profile)
                assertTrue(terminal.sale(11_000) is PaymentResult.Approved)
            }
            val settlement = terminal.settle()
            assertTrue(settlement.balanced)
            assertEquals(2u, settlement.debitCount)
            assertEquals(22_000uL, settlement.debitAmount)
            reconciled()
        }

    @Test
    fun `cancelling the coroutine presses cancel and nothing is charged`() =
        counterTest("cancel") {
            val before = sims.acquirerMessages()
            // No card is presented: the terminal waits at "present card".
            val sale = scope.launch { terminal.sale(1_000) }
            delay(200)
            sale.cancelAndJoin()
            assertEquals(before, sims.acquirerMessages())
            assertTrue(terminal.transactions().isEmpty())
            // The terminal is free for the next customer.
            reader.tap("mastercard-contactless")
            assertTrue(terminal.sale(1_200) is PaymentResult.Approved)
        }

    @Test
    fun `payments need an active terminal`() =
        runBlocking {
            openCounter("unbound").use { c ->
                c.reader.insert("visa-contact")
                val e = assertThrows<PosKitException.NotReady> { runBlocking { c.terminal.sale(1_000) } }
                assertEquals(2000, e.errorCode)
            }
        }
}
