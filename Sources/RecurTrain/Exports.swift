// RecurTrain is Recur's top module: `import RecurTrain` gives a program (the `recur` command, or
// a package that depends on Recur) the experiment, the store, reporting, inference and training,
// and the vocabulary they are written in (data kinds and splits, model and optimizer settings,
// Console). The engine and the communicators stay behind it: they are reached through
// `TrainingSession`, `TrainedModel` and `Job` (docs/ARCHITECTURE.md, "Modules and what they may
// import"; LayeringTests holds it).

@_exported import RecurData
@_exported import RecurExperiment
@_exported import RecurInference
@_exported import RecurKernels
@_exported import RecurModel
@_exported import RecurOptim
@_exported import RecurReport
@_exported import RecurStore
