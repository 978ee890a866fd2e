// An insert-only hash table from a word's UTF-8 bytes to a dense id, with the words' bytes in
// one arena: the word encoder counts millions of words without making a String for each.
// It does not count or order words; the encoder does.

struct WordTable {
    /// All words' bytes, back to back; word `id` is `arena[starts[id] ..< starts[id + 1]]`.
    private(set) var arena: [UInt8] = []
    private(set) var starts: [Int] = [0]
    private var slots: [Int32] = [Int32](repeating: -1, count: 1 << 12)
    private var hashes: [UInt64] = []

    /// Number of distinct words.
    var count: Int { starts.count - 1 }

    @inline(__always)
    private static func hash(_ p: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325   // FNV-1a
        for b in p { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h ^ (h >> 29)
    }

    /// The id of `word`, inserting it when new.
    mutating func id(of word: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = WordTable.hash(word)
        var mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let id = slots[s]
            if id < 0 { break }
            if hashes[Int(id)] == h && equal(Int(id), word) { return id }
            s = (s + 1) & mask
        }
        let id = Int32(count)
        arena.append(contentsOf: word)
        starts.append(arena.count)
        hashes.append(h)
        slots[s] = id
        if count * 2 > slots.count {
            slots = [Int32](repeating: -1, count: slots.count * 2)
            mask = slots.count - 1
            for (k, hk) in hashes.enumerated() {
                var t = Int(truncatingIfNeeded: hk) & mask
                while slots[t] >= 0 { t = (t + 1) & mask }
                slots[t] = Int32(k)
            }
        }
        return id
    }

    @inline(__always)
    private func equal(_ id: Int, _ word: UnsafeBufferPointer<UInt8>) -> Bool {
        let a = starts[id], n = starts[id + 1] - a
        if n != word.count { return false }
        for k in 0..<n where arena[a + k] != word[k] { return false }
        return true
    }

    /// The bytes of word `id`.
    func bytes(_ id: Int) -> ArraySlice<UInt8> { arena[starts[id]..<starts[id + 1]] }

    /// The text of word `id`.
    func string(_ id: Int) -> String { String(decoding: bytes(id), as: UTF8.self) }
}
