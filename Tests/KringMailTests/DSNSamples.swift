/// Reports as mail servers send them back to the return path, written after real ones (addresses changed).
enum DSNSamples {
    /// Postfix: the remote server refused the recipient (550 5.1.1).
    static let postfixHardBounce = """
        Return-Path: <>
        Received: by mx.bibliotheekzk.example (Postfix) id 4F1A2C0123; Fri, 27 Nov 2026 10:02:11 +0100 (CET)
        Date: Fri, 27 Nov 2026 10:02:11 +0100 (CET)
        From: MAILER-DAEMON@mx.bibliotheekzk.example (Mail Delivery System)
        Subject: Undelivered Mail Returned to Sender
        To: bounces@bibliotheekzk.example
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="4F1A2C0123.1795770131/mx.bibliotheekzk.example"
        Content-Transfer-Encoding: 8bit
        Message-Id: <20261127090211.4F1A2C0123@mx.bibliotheekzk.example>

        This is a MIME-encapsulated message.

        --4F1A2C0123.1795770131/mx.bibliotheekzk.example
        Content-Description: Notification
        Content-Type: text/plain; charset=utf-8

        This is the mail system at host mx.bibliotheekzk.example.

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients. It's attached below.

        <Piet.Bakker@example.nl>: host mx.example.nl[192.0.2.25] said: 550 5.1.1
            <piet.bakker@example.nl>: Recipient address rejected: User unknown in
            virtual mailbox table (in reply to RCPT TO command)

        --4F1A2C0123.1795770131/mx.bibliotheekzk.example
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.bibliotheekzk.example
        X-Postfix-Queue-ID: 4F1A2C0123
        X-Postfix-Sender: rfc822; bounces@bibliotheekzk.example
        Arrival-Date: Fri, 27 Nov 2026 10:02:10 +0100 (CET)

        Final-Recipient: rfc822; piet.bakker@example.nl
        Original-Recipient: rfc822;Piet.Bakker@example.nl
        Action: failed
        Status: 5.1.1
        Remote-MTA: dns; mx.example.nl
        Diagnostic-Code: smtp; 550 5.1.1 <piet.bakker@example.nl>: Recipient address
            rejected: User unknown in virtual mailbox table

        --4F1A2C0123.1795770131/mx.bibliotheekzk.example
        Content-Description: Undelivered Message
        Content-Type: message/rfc822
        Content-Transfer-Encoding: 8bit

        Return-Path: <bounces@bibliotheekzk.example>
        From: =?UTF-8?Q?Bibliotheek_Zuid-Kennemerland?= <nieuws@bibliotheekzk.example>
        To: Piet Bakker <Piet.Bakker@example.nl>
        Subject: =?UTF-8?Q?Voorlezen_in_het_caf=C3=A9?=
        Message-ID: <3f9c2a1b0d4e5f60718293a4b5c6d7e8@bibliotheekzk.example>
        MIME-Version: 1.0
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        Beste Piet,

        --4F1A2C0123.1795770131/mx.bibliotheekzk.example--
        """

    /// Exchange Online: recipient not found, reported as 5.1.10, base64 notification, headers only returned.
    static let exchangeHardBounce = """
        From: Microsoft Outlook <postmaster@gemeente.example>
        To: <bounces@bibliotheekzk.example>
        Date: Fri, 27 Nov 2026 09:15:42 +0000
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="e7a8b9c0-1d2e-4f30-a1b2-c3d4e5f60718"
        X-MS-Exchange-Message-Is-Ndr:
        Content-Language: nl-NL
        Message-ID: <0d1e2f30-4a5b-6c7d-8e9f-a0b1c2d3e4f5@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
        In-Reply-To: <aa11bb22cc33dd44ee55ff6677889900@bibliotheekzk.example>
        Subject: Onbestelbaar: Nieuwsbrief november
        MIME-Version: 1.0

        --e7a8b9c0-1d2e-4f30-a1b2-c3d4e5f60718
        Content-Type: multipart/alternative; differences=Content-Type;
        \tboundary="f8b9c0d1-2e3f-4051-b2c3-d4e5f6071829"

        --f8b9c0d1-2e3f-4051-b2c3-d4e5f6071829
        Content-Type: text/plain; charset="utf-8"
        Content-Transfer-Encoding: base64

        VXcgYmVyaWNodCBrb24gbmlldCB3b3JkZW4gYmV6b3JnZDogZGUgb250dmFuZ2VyIGJlc3RhYXQg
        bmlldC4=

        --f8b9c0d1-2e3f-4051-b2c3-d4e5f6071829--

        --e7a8b9c0-1d2e-4f30-a1b2-c3d4e5f60718
        Content-Type: message/delivery-status

        Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
        Received-From-MTA: dns;mail.bibliotheekzk.example
        Arrival-Date: Fri, 27 Nov 2026 09:15:40 +0000

        Final-Recipient: rfc822;k.dejong@gemeente.example
        Action: failed
        Status: 5.1.10
        Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not
         found by SMTP address lookup
        X-Display-Name: Karin de Jong

        --e7a8b9c0-1d2e-4f30-a1b2-c3d4e5f60718
        Content-Type: text/rfc822-headers

        Return-Path: bounces@bibliotheekzk.example
        From: Bibliotheek Zuid-Kennemerland <nieuws@bibliotheekzk.example>
        To: <k.dejong@gemeente.example>
        Subject: Nieuwsbrief november
        Message-ID: <aa11bb22cc33dd44ee55ff6677889900@bibliotheekzk.example>

        --e7a8b9c0-1d2e-4f30-a1b2-c3d4e5f60718--
        """

    /// Postfix telling the sender a delivery is delayed (mailbox full, 4.2.2): no suppression.
    static let postfixDelayed = """
        From: MAILER-DAEMON@mx.bibliotheekzk.example (Mail Delivery System)
        Subject: Delayed Mail (still being retried)
        To: bounces@bibliotheekzk.example
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

        --B0UND
        Content-Type: text/plain

        This is the mail system. Your message has not been delivered yet.

        --B0UND
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.bibliotheekzk.example

        Final-Recipient: rfc822; vol@example.nl
        Action: delayed
        Status: 4.2.2
        Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
        Will-Retry-Until: Mon, 30 Nov 2026 10:00:00 +0100

        Final-Recipient: rfc822; tijdelijk@example.nl
        Action: failed
        Status: 4.4.7
        Diagnostic-Code: X-Postfix; delivery temporarily suspended

        --B0UND--
        """

    /// An ARF complaint (RFC 5965) from a mailbox provider's feedback loop.
    static let arfComplaint = """
        From: <staff@hotmail.example>
        Date: Fri, 27 Nov 2026 11:21:33 +0000
        Subject: complaint about message from 192.0.2.10
        To: <abuse@bibliotheekzk.example>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report;
             boundary="part1_13d.2e68ed54_boundary"

        --part1_13d.2e68ed54_boundary
        Content-Type: text/plain; charset="US-ASCII"
        Content-Transfer-Encoding: 7bit

        This is an email abuse report for an email message received from IP
        192.0.2.10 on Fri, 27 Nov 2026 10:00:00 +0000.

        --part1_13d.2e68ed54_boundary
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: SomeGenerator/1.0
        Version: 1
        Original-Mail-From: <bounces@bibliotheekzk.example>
        Original-Rcpt-To: <Marieke@Example.nl>
        Arrival-Date: Fri, 27 Nov 2026 10:00:00 +0000
        Reporting-MTA: dns; mail.hotmail.example
        Source-IP: 192.0.2.10
        Authentication-Results: mail.hotmail.example; spf=pass smtp.mail=bounces@bibliotheekzk.example
        Reported-Domain: bibliotheekzk.example

        --part1_13d.2e68ed54_boundary
        Content-Type: message/rfc822
        Content-Disposition: inline

        From: Bibliotheek Zuid-Kennemerland <nieuws@bibliotheekzk.example>
        To: Marieke <marieke@example.nl>
        Subject: Nieuwsbrief november
        Message-ID: <bb22cc33dd44ee55ff66778899001122@bibliotheekzk.example>
        Date: Fri, 27 Nov 2026 10:00:00 +0000

        Beste Marieke,
        --part1_13d.2e68ed54_boundary--
        """

    /// An ARF report whose provider redacts Original-Rcpt-To; the returned message's To names the recipient.
    static let arfRedacted = """
        From: feedbackloop@mail.provider.example
        To: abuse@bibliotheekzk.example
        Subject: FW: Nieuwsbrief november
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=feedback-report; boundary="xyz"

        --xyz
        Content-Type: text/plain

        A complaint.
        --xyz
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: ProviderFBL/2.1
        Version: 1

        --xyz
        Content-Type: text/rfc822-headers

        From: Bibliotheek <nieuws@bibliotheekzk.example>
        To: jeroen@example.nl
        Message-ID: <cc33@bibliotheekzk.example>

        --xyz--
        """

    static let notAReport = """
        From: anna@example.nl
        To: info@bibliotheekzk.example
        Subject: Re: Nieuwsbrief
        Content-Type: text/plain; charset=utf-8

        Dank voor de nieuwsbrief!
        """
}
