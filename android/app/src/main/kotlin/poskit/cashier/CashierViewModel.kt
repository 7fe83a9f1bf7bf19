// The cashier's state and every operation it starts. One terminal at a
// time, opened against the simulated hosts; its cards come from the
// simulator or from the phone's NFC.
package poskit.cashier

import android.app.Application
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.viewModelScope
import java.io.File
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import poskit.Payment
import poskit.PaymentResult
import poskit.Terminal
import poskit.android.AndroidKeystoreKeystore
import poskit.android.IsoDepCardReader
import poskit.errorCode
import poskit.reason
import uniffi.poskit_ffi.MemoryPrinter
import uniffi.poskit_ffi.PosKitException
import uniffi.poskit_ffi.SettlementResult
import uniffi.poskit_ffi.SimCardReader
import uniffi.poskit_ffi.SimEnvironment
import uniffi.poskit_ffi.TerminalEvent
import uniffi.poskit_ffi.initLogging
import uniffi.poskit_ffi.startSimulators

sealed interface Screen {
    data object Start : Screen

    data object Binding : Screen

    data object Amount : Screen

    data class Paying(val amount: Long) : Screen

    data class Scan(val amount: Long) : Screen

    data class Result(val result: PaymentResult) : Screen

    data class Receipt(val text: String) : Screen

    data class Settlement(val result: SettlementResult?) : Screen
}

/** The code the terminal shows for the customer's wallet. */
data class ShownCode(val orderNo: String, val content: String)

data class CashierState(
    val screen: Screen = Screen.Start,
    /** Simulated cards and PIN pad instead of the phone's NFC and screen. */
    val simulator: Boolean = true,
    val busy: Boolean = false,
    val lifecycle: String = "",
    val prompt: String = "",
    val shownCode: ShownCode? = null,
    val error: String? = null,
)

class CashierViewModel(app: Application) : AndroidViewModel(app) {
    /** Attached to the activity while it is resumed (reader mode needs that). */
    val nfcReader = IsoDepCardReader(app)
    val pinPad = ScreenPinPad()

    private val mutableState = MutableStateFlow(CashierState())
    val state: StateFlow<CashierState> = mutableState.asStateFlow()

    private var session: Session? = null
    private var operation: Job? = null

    /** The simulated hosts, the terminal and, in simulator mode, its card reader. */
    private class Session(
        val sims: SimEnvironment,
        val terminal: Terminal,
        val simReader: SimCardReader?,
        val printer: MemoryPrinter,
        val events: Job,
    ) {
        fun close() {
            events.cancel()
            terminal.close()
            simReader?.close()
            printer.close()
            sims.close()
        }
    }

    init {
        // The core's log records go to logcat, tag PosKit.
        initLogging(verbose = false)
    }

    fun setSimulator(on: Boolean) = mutableState.update { it.copy(simulator = on) }

    fun dismissError() = mutableState.update { it.copy(error = null) }

    fun show(screen: Screen) = mutableState.update { it.copy(screen = screen, error = null) }

    /** Opens a fresh terminal against freshly started simulated hosts. */
    fun start() =
        launchOperation {
            session?.close()
            session = null
            val simulator = state.value.simulator
            val sims = startSimulators(userPayingDelayMs = 3_000u)
            // The simulated hosts start empty each time, so the terminal does too.
            val dir = File(getApplication<Application>().noBackupFilesDir, "poskit-demo")
            dir.deleteRecursively()
            dir.mkdirs()
            val printer = MemoryPrinter()
            val simReader = if (simulator) SimCardReader() else null
            val terminal =
                Terminal.open(
                    settings = sims.settings(dir.path, "SN-ANDROID-DEMO"),
                    keystore = AndroidKeystoreKeystore(alias = "poskit-demo-kek"),
                    reader = simReader?.device() ?: nfcReader,
                    pinPad = simReader?.pinPad()?.device() ?: pinPad,
                    printer = printer.device(),
                )
            val events = viewModelScope.launch { terminal.events.collect { onEvent(it) } }
            session = Session(sims, terminal, simReader, printer, events)
            refreshLifecycle(terminal)
            show(Screen.Binding)
        }

    fun apply(merchantName: String) =
        withTerminal { s ->
            s.terminal.apply(s.sims.sampleApplication().copy(merchantName = merchantName))
            refreshLifecycle(s.terminal)
        }

    fun refreshReview() =
        withTerminal { s ->
            s.terminal.refreshReview()
            refreshLifecycle(s.terminal)
        }

    fun bind(serial: String, model: String) =
        withTerminal { s ->
            s.terminal.bind(serial, model)
            // The simulated acquirer learns the terminal the platform bound.
            s.terminal.lifecycle().terminalId?.let { s.sims.enrol(it) }
            refreshLifecycle(s.terminal)
        }

    fun signIn() =
        withTerminal { s ->
            s.terminal.signIn()
            refreshLifecycle(s.terminal)
            show(Screen.Amount)
        }

    fun pay(amount: Long, payment: Payment) =
        withTerminal { s ->
            mutableState.update { it.copy(screen = Screen.Paying(amount), prompt = "", shownCode = null) }
            val result = s.terminal.sale(amount, payment)
            show(Screen.Result(result))
        }

    /** The cashier's cancel button: the terminal stops where that is safe. */
    fun cancel() {
        pinPad.cancelPending()
        operation?.cancel()
    }

    fun receipt(reference: String) =
        withTerminal { s -> show(Screen.Receipt(s.terminal.receiptText(reference))) }

    fun settle() =
        withTerminal { s -> show(Screen.Settlement(s.terminal.settle())) }

    /** Simulator mode: the customer inserts or taps one of the virtual cards. */
    fun present(profile: String, tap: Boolean) {
        val reader = session?.simReader ?: return
        if (tap) reader.tap(profile) else reader.insert(profile)
    }

    /** Simulator mode: the customer's wallet pays the code on screen. */
    fun customerPays() {
        val s = session ?: return
        val code = state.value.shownCode ?: return
        try {
            s.sims.customerPays(code.orderNo)
        } catch (e: PosKitException) {
            fail(e)
        }
    }

    override fun onCleared() {
        pinPad.cancelPending()
        session?.close()
        session = null
    }

    private fun onEvent(event: TerminalEvent) {
        mutableState.update {
            when (event) {
                is TerminalEvent.QrShown -> it.copy(prompt = event.prompt(), shownCode = ShownCode(event.orderNo, event.content))
                is TerminalEvent.Approved, is TerminalEvent.Declined, is TerminalEvent.Cancelling ->
                    it.copy(prompt = event.prompt(), shownCode = null)
                else -> it.copy(prompt = event.prompt())
            }
        }
    }

    private suspend fun refreshLifecycle(terminal: Terminal) {
        val l = terminal.lifecycle()
        val tid = l.terminalId?.let { " · terminal $it" } ?: ""
        mutableState.update { it.copy(lifecycle = l.state + tid) }
    }

    private fun withTerminal(block: suspend (Session) -> Unit) {
        val s = session ?: return
        launchOperation { block(s) }
    }

    /** One operation at a time, shown as busy; its errors go on screen. */
    private fun launchOperation(block: suspend () -> Unit) {
        if (operation?.isActive == true) return
        mutableState.update { it.copy(busy = true, error = null) }
        operation =
            viewModelScope.launch {
                try {
                    block()
                } catch (e: PosKitException) {
                    fail(e)
                } catch (e: CancellationException) {
                    if (state.value.screen is Screen.Paying) show(Screen.Amount)
                    throw e
                } finally {
                    mutableState.update { it.copy(busy = false) }
                }
            }
    }

    private fun fail(e: PosKitException) {
        val back = if (state.value.screen is Screen.Paying) Screen.Amount else state.value.screen
        mutableState.update { it.copy(screen = back, error = "${e.reason} (${e.errorCode})") }
    }
}
