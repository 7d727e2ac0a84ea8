import NIOCore

/// Hands replies to waiters in order. A reply that arrives before anyone waits (the greeting, pipelined
/// answers) is kept; a waiter that waits too long fails with `SMTPTimeout` and closes the connection, since
/// its place in the dialogue is lost.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = SMTPReply

    private var replies = CircularBuffer<SMTPReply>()
    private var waiters = CircularBuffer<(promise: EventLoopPromise<SMTPReply>, timeout: Scheduled<Void>)>()
    private var closedError: (any Error)?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = Self.unwrapInboundIn(data)
        if let waiter = waiters.popFirst() {
            waiter.timeout.cancel()
            waiter.promise.succeed(reply)
        } else {
            replies.append(reply)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SMTPConnectionClosed())
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        if closedError == nil { closedError = error }
        while let waiter = waiters.popFirst() {
            waiter.timeout.cancel()
            waiter.promise.fail(error)
        }
    }

    /// The next reply; call on the channel's event loop.
    func nextReply(eventLoop: any EventLoop, timeout: Duration) -> EventLoopFuture<SMTPReply> {
        if let reply = replies.popFirst() { return eventLoop.makeSucceededFuture(reply) }
        if let closedError { return eventLoop.makeFailedFuture(closedError) }
        let promise = eventLoop.makePromise(of: SMTPReply.self)
        let scheduled = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [weak self] in
            guard let self else { return }
            self.failAll(SMTPTimeout())
            self.context?.close(promise: nil)
        }
        waiters.append((promise, scheduled))
        return promise.futureResult
    }
}

struct SMTPTimeout: Error, CustomStringConvertible {
    var description: String { "the relay did not answer in time" }
}

struct SMTPConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the relay closed the connection" }
}
