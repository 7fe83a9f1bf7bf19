// What apps need from the generated PosKitError: its stable code and its
// reason, without switching over every case themselves.
import PosKitFFI

extension PosKitError {
    /// The stable numeric code of this error (table in
    /// bindings/ffi/src/error.rs): switch on it, log it, show it to support.
    /// Same number as the generated `code()`.
    public var errorCode: Int { Int(code()) }

    /// What went wrong and what to do about it. Never holds a PAN, PIN or key.
    public var reason: String {
        switch self {
        case .InvalidInput(let reason), .InvalidKey(let reason), .InvalidPin(let reason),
             .InvalidPan(let reason), .InvalidPinBlock(let reason), .MalformedData(let reason),
             .CryptoFailure(let reason), .NotReady(let reason), .Binding(let reason),
             .CardRead(let reason), .CardholderAction(let reason), .Network(let reason),
             .HostRefused(let reason), .Storage(let reason), .Keys(let reason),
             .PaymentCode(let reason), .Gateway(let reason), .Printer(let reason),
             .Cancelled(let reason), .Configuration(let reason), .NoReceipt(let reason):
            return reason
        }
    }
}
