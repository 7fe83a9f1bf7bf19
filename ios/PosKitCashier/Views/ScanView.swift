// Scanning the payment code the customer's wallet shows: the camera reads
// QR codes and barcodes (wallets show both) with AVFoundation.
import AVFoundation
import PosKit
import SwiftUI

/// A WeChat Pay code the simulated gateway accepts (18 digits starting 13).
private let simulatedWalletCode = "134567890123456789"

struct ScanView: View {
    let amount: UInt64
    @ObservedObject var cashier: CashierModel

    var body: some View {
        VStack(spacing: 12) {
            Text("¥ \(yuan(amount)): scan the code in the customer's wallet")
            CodeScanner { code in cashier.pay(amount: amount, payment: .scanCode(code)) }
                .frame(height: 360)
            if cashier.simulator {
                Button("Use a simulated wallet code") {
                    cashier.pay(amount: amount, payment: .scanCode(simulatedWalletCode))
                }
                .buttonStyle(.bordered)
            }
            Button("Back") { cashier.screen = .amount }.buttonStyle(.bordered)
        }
        .padding(16)
    }
}

/// Camera preview that reports the first code it reads, once. Asks for
/// the camera the first time (NSCameraUsageDescription).
struct CodeScanner: UIViewControllerRepresentable {
    let onCode: (String) -> Void

    func makeUIViewController(context: Context) -> ScannerController {
        ScannerController(onCode: onCode)
    }

    func updateUIViewController(_ controller: ScannerController, context: Context) {}
}

final class ScannerController: UIViewController, AVCaptureMetadataOutputObjectsDelegate {
    private let onCode: (String) -> Void
    private let session = AVCaptureSession()
    private let sessionQueue = DispatchQueue(label: "poskit.scanner")
    private var preview: AVCaptureVideoPreviewLayer?
    private var reported = false

    init(onCode: @escaping (String) -> Void) {
        self.onCode = onCode
        super.init(nibName: nil, bundle: nil)
    }

    @available(*, unavailable)
    required init?(coder: NSCoder) { fatalError("ScannerController is built in code") }

    override func viewDidLoad() {
        super.viewDidLoad()
        view.backgroundColor = .black
        AVCaptureDevice.requestAccess(for: .video) { granted in
            guard granted else { return }
            DispatchQueue.main.async { self.configure() }
        }
    }

    override func viewDidLayoutSubviews() {
        super.viewDidLayoutSubviews()
        preview?.frame = view.bounds
    }

    override func viewWillDisappear(_ animated: Bool) {
        super.viewWillDisappear(animated)
        let session = session
        sessionQueue.async { session.stopRunning() }
    }

    private func configure() {
        guard let camera = AVCaptureDevice.default(for: .video),
              let input = try? AVCaptureDeviceInput(device: camera),
              session.canAddInput(input)
        else { return }
        session.addInput(input)
        let output = AVCaptureMetadataOutput()
        guard session.canAddOutput(output) else { return }
        session.addOutput(output)
        output.setMetadataObjectsDelegate(self, queue: .main)
        output.metadataObjectTypes = [.qr, .code128].filter { output.availableMetadataObjectTypes.contains($0) }

        let layer = AVCaptureVideoPreviewLayer(session: session)
        layer.videoGravity = .resizeAspectFill
        layer.frame = view.bounds
        view.layer.addSublayer(layer)
        preview = layer
        let session = session
        sessionQueue.async { session.startRunning() }
    }

    func metadataOutput(
        _ output: AVCaptureMetadataOutput,
        didOutput metadataObjects: [AVMetadataObject],
        from connection: AVCaptureConnection
    ) {
        guard !reported,
              let code = metadataObjects.compactMap({ ($0 as? AVMetadataMachineReadableCodeObject)?.stringValue }).first
        else { return }
        reported = true
        onCode(code)
    }
}
