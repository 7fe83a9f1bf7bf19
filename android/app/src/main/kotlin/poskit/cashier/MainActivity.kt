package poskit.cashier

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.viewModels
import androidx.compose.material3.MaterialTheme
import poskit.cashier.ui.CashierApp

class MainActivity : ComponentActivity() {
    private val cashier: CashierViewModel by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                CashierApp(cashier)
            }
        }
    }

    // NFC reader mode belongs to the resumed activity.
    override fun onResume() {
        super.onResume()
        cashier.nfcReader.attach(this)
    }

    override fun onPause() {
        cashier.nfcReader.detach(this)
        super.onPause()
    }
}
