import PostgresNIO

extension PostgresClient {
    /// Runs the pool for as long as `body` runs, and starts it before `body` leases its first connection.
    ///
    /// `run()` must be under way before a lease, or the client warns and the lease waits for it. The child task
    /// signals just before calling `run()`, whose first step marks the pool as running, so `body` starts after it.
    public func whileRunning<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let (started, signal) = AsyncStream<Void>.makeStream()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                signal.finish()
                await self.run()
            }
            defer { group.cancelAll() }
            for await _ in started {}
            await Task.yield()
            return try await body()
        }
    }
}
