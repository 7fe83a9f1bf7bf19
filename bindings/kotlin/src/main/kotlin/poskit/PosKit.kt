// The Kotlin face of PosKit on top of the generated bindings
// (package uniffi.poskit_ffi). The generated layer is not API: apps use
// what this file adds, and it grows as the SDK does.
package poskit

import uniffi.poskit_ffi.PosKitException

/** The stable numeric code of this error (table in bindings/ffi/src/error.rs). */
val PosKitException.errorCode: Int
    get() = code().toInt()

/**
 * What went wrong and what to do about it. Never holds a PAN, PIN or key.
 * (The generated `message` reads `reason=...`.)
 */
val PosKitException.reason: String
    get() =
        when (this) {
            is PosKitException.InvalidInput -> reason
            is PosKitException.InvalidKey -> reason
            is PosKitException.InvalidPin -> reason
            is PosKitException.InvalidPan -> reason
            is PosKitException.InvalidPinBlock -> reason
            is PosKitException.MalformedData -> reason
            is PosKitException.CryptoFailure -> reason
            is PosKitException.NotReady -> reason
            is PosKitException.Binding -> reason
            is PosKitException.CardRead -> reason
            is PosKitException.CardholderAction -> reason
            is PosKitException.Network -> reason
            is PosKitException.HostRefused -> reason
            is PosKitException.Storage -> reason
            is PosKitException.Keys -> reason
            is PosKitException.PaymentCode -> reason
            is PosKitException.Gateway -> reason
            is PosKitException.Printer -> reason
            is PosKitException.Cancelled -> reason
            is PosKitException.Configuration -> reason
            is PosKitException.NoReceipt -> reason
        }
