// Turns a UTF-8 text file into provisional word ids in one streaming pass: chunks are cut
// after their last ASCII white space so no token straddles two chunks, and each distinct word
// gets an id in order of first appearance. Vocabulary rules (min_count, max_size) come later.

import RecurFiles

enum WordEncoder {
    struct Provisional {
        var ids: [Int32]
        var table: WordTable
        /// Token index and byte offset of each word's first appearance.
        var firstIndex: [Int]
        var firstOffset: [Int]
    }

    /// Tokenizes `path` with `tokenizer`.
    /// - Throws: `DataError` for unreadable, empty or non-UTF-8 files.
    static func decode(_ path: String, tokenizer: WordTokenizer,
                       chunkSize: Int = FileReader.chunkSize) throws(DataError) -> Provisional {
        var ids: [Int32] = []
        var table = WordTable()
        var firstIndex: [Int] = [], firstOffset: [Int] = []
        var scratch: [UInt8] = []
        try FileReader.forEachChunk(path, chunkSize: chunkSize) { (chunk, start, isLast) throws(DataError) -> Int in
            var cut = chunk.count
            if !isLast {
                cut = 0
                for k in stride(from: chunk.count - 1, through: 0, by: -1) {
                    let b = chunk[k]
                    if b == 0x20 || b == 0x0A || b == 0x09 || b == 0x0D { cut = k + 1; break }
                }
                if cut == 0 { return 0 }   // one token longer than the buffer: let it grow
            }
            var from = 0
            if start == 0 && cut >= 3 && chunk[0] == 0xEF && chunk[1] == 0xBB && chunk[2] == 0xBF { from = 3 }
            let part = UnsafeBufferPointer(rebasing: chunk[from..<cut])
            let bad = tokenizer.scan(part, scratch: &scratch) { word, offset in
                let id = table.id(of: word)
                if Int(id) == firstIndex.count {
                    firstIndex.append(ids.count)
                    firstOffset.append(start + from + offset)
                }
                ids.append(id)
            }
            if let bad { throw UTF8Scan.notUTF8(path, offset: start + from + bad) }
            return cut
        }
        return Provisional(ids: ids, table: table, firstIndex: firstIndex, firstOffset: firstOffset)
    }
}
