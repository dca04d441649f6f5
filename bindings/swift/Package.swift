// swift-tools-version:5.9
// FieldsealFFI: the Rust core (fieldseal-ffi) as a static library in an XCFramework, plus the Swift
// bindings UniFFI generates for it. Neither is committed: run build-xcframework.sh on macOS first; it
// writes FieldsealFFI.xcframework and Sources/FieldsealFFI/FieldsealFFI.swift next to this file.
import PackageDescription

let package = Package(
    name: "FieldsealFFI",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "FieldsealFFI", targets: ["FieldsealFFI"]),
    ],
    targets: [
        // The C module the generated Swift imports (`FieldsealFFIFFI`, from uniffi.toml's
        // ffi_module_name): libfieldseal_ffi.a with its header and module map per platform.
        // Tools 5.9 lets the target name differ from the XCFramework's file name.
        .binaryTarget(
            name: "FieldsealFFIFFI",
            path: "FieldsealFFI.xcframework"
        ),
        .target(
            name: "FieldsealFFI",
            dependencies: ["FieldsealFFIFFI"],
            path: "Sources/FieldsealFFI"
        ),
        .testTarget(
            name: "FieldsealFFITests",
            dependencies: ["FieldsealFFI"],
            path: "Tests/FieldsealFFITests"
        ),
    ]
)
