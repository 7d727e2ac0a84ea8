import Foundation
import KringCampaigns
import KringDatabase
import Logging
import ServiceLifecycle

/// Runs a `SendWorker` until shutdown. A graceful shutdown (SIGTERM) lets the batch in hand finish, so every mail
/// the worker holds is either sent and marked or handed back; then the loop ends.
public struct SendLoop: Service {
    public let worker: SendWorker
    public let pollInterval: Duration
    public let logger: Logger

    public init(worker: SendWorker, pollInterval: Duration = .seconds(1), logger: Logger) {
        self.worker = worker
        self.pollInterval = pollInterval
        self.logger = logger
    }

    public func run() async throws {
        logger.info("send loop started")
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                var settled = 0
                do {
                    settled = try await worker.runOnce()
                } catch {
                    logger.error("sending failed", metadata: ["error": "\(Migrator.describe(error))"])
                }
                if settled == 0 {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pollInterval) }
                }
            }
        } onGracefulShutdown: {
            // The pass in progress delivers what it holds and claims nothing more.
            worker.stopClaiming()
        }
        logger.info("send loop stopped")
    }
}
