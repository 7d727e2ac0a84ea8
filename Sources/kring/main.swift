import NIOCore
import NIOPosix

// Swift concurrency's jobs run on SwiftNIO's event loop threads, where the HTTP and PostgreSQL sockets are served:
// an `await` on a query then resumes without a hop between two thread pools (each hop a wake-up and a context
// switch, several per request). It must happen on the main thread before any task starts, so here, before `main`.
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
await Kring.start()
