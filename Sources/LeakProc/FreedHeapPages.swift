import CLeakSys

/// Gives the pages of freed heap memory back to the system. glibc returns
/// only the top of each malloc arena by itself; after a library freed many
/// small blocks (libdw closing a module), the pages in between stay
/// resident until asked for.
public func returnFreedHeapPages() {
    _ = malloc_trim(0)
}
