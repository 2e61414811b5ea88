import CLeakSys

/// Reads exactly `count` bytes of another process's memory at `address`
/// (process_vm_readv): nil when any of them is unmapped or unreadable. A
/// read changes nothing in the target, so it needs no pause.
public func readProcessMemory(pid: Int32, at address: UInt64, count: Int) -> [UInt8]? {
    if count == 0 { return [] }
    var buffer = [UInt8](repeating: 0, count: count)
    let n = buffer.withUnsafeMutableBytes { sl_process_read(pid, address, $0.baseAddress, count) }
    return n == count ? buffer : nil
}
