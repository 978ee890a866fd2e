// The data error and file formats live below the readers (RecurFiles); whoever reads data
// through RecurData sees them as its own.

@_exported import RecurFiles
