// swift-tools-version:5.9
//
// PosKit for Swift: the native library as an xcframework, the bindings
// UniFFI generates for it, and the small Swift API apps use.
//
// Before building:
//   scripts/generate-bindings.sh --swift-only   (any OS: writes Sources/PosKitFFI
//                                                and Sources/poskit_ffiFFI/include)
//   scripts/build-xcframework.sh                (macOS with Xcode: builds
//                                                poskit_ffiFFI.xcframework here,
//                                                for iOS, the iOS simulator and macOS)
// Then `swift test` runs Tests/PosKitTests on the Mac against the simulators,
// and apps add this package (product PosKit) to their Xcode project.
import PackageDescription

let package = Package(
    name: "PosKit",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "PosKit", targets: ["PosKit"]),
    ],
    targets: [
        // libposkit_ffi.a per platform with the C header and module map. The
        // target, the xcframework and the C module all share the name the
        // generated Swift imports.
        .binaryTarget(name: "poskit_ffiFFI", path: "poskit_ffiFFI.xcframework"),
        // What UniFFI generates (scripts/generate-bindings.sh): not API.
        .target(name: "PosKitFFI", dependencies: ["poskit_ffiFFI"], path: "Sources/PosKitFFI"),
        // The Swift API.
        .target(name: "PosKit", dependencies: ["PosKitFFI"], path: "Sources/PosKit"),
        .testTarget(name: "PosKitTests", dependencies: ["PosKit"], path: "Tests/PosKitTests"),
    ]
)
