// swift-tools-version:6.0
// A program that uses Recur as a Swift package: builds an experiment in code, trains it with
// progress as a callback, evaluates it and predicts a new file. launch/test builds and runs it,
// so Recur keeps working as a dependency (no unsafe flags: Note [No unsafe flags] in Recur's
// Package.swift). Outside this repository, depend on Recur by its git URL and a version instead:
//     .package(url: "https://github.com/OWNER/recur", from: "0.3.0")
import PackageDescription

let package = Package(
    name: "TrainFromCode",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "Recur", path: "../..")],
    targets: [
        .executableTarget(name: "TrainFromCode", dependencies: [.product(name: "RecurTrain", package: "Recur")]),
    ],
    swiftLanguageModes: [.v5]
)
