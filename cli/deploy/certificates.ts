/**
 * The deploy's own certificate authority: a self-signed CA and the server certificates it
 * signs (platform/overlays/production: Kafka's listener, Elasticsearch's HTTP and transport).
 *
 * Node's crypto makes the RSA keys and writes them as unencrypted PKCS#8 PEM, the only private
 * key format Kafka's PEM keystore reads (PKCS8EncodedKeySpec). Node cannot build or sign an
 * X.509 certificate, so node-forge does that part: maintained, pure JavaScript (no native build
 * in the image-less deploy), synchronous, and it writes subjectAltName, key usages and key
 * identifiers without a reflection polyfill (which @peculiar/x509's dependency injection needs).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface CertificateRequest {
  commonName: string;
  /** subjectAltName DNS names: clients verify the host they dialled against these. */
  dnsNames: string[];
  /** A CA certificate (it signs others) rather than a server's. */
  authority?: boolean;
}

/** PEM: the certificate, and its private key in unencrypted PKCS#8 (BEGIN PRIVATE KEY). */
export interface IssuedCertificate {
  certificate: string;
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Nothing renews them (platform/README.md): the CA outlives many server certificates, and a
 * server certificate is re-issued by deleting its Secret and deploying again. */
export const VALIDITY_DAYS = { authority: 3650, server: 730 };

/**
 * A certificate for `request`, signed by `issuer`; without an issuer, `request` must be an
 * authority and the certificate signs itself.
 */
export function issueCertificate(request: CertificateRequest, issuer?: IssuedCertificate, now: Date = new Date()): IssuedCertificate {
  if (!issuer && !request.authority) throw new Error(`${request.commonName}: a server certificate needs a CA to sign it`);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // Positive and unpredictable (RFC 5280: at most 20 octets).
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  // An hour back, so a node whose clock is a little behind accepts it at once.
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + (request.authority ? VALIDITY_DAYS.authority : VALIDITY_DAYS.server) * DAY_MS);
  const subject = [{ shortName: 'CN', value: request.commonName }, { shortName: 'O', value: 'big-data-pipeline' }];
  cert.setSubject(subject);
  const signer = issuer ? forge.pki.certificateFromPem(issuer.certificate) : cert;
  cert.setIssuer(issuer ? signer.subject.attributes : subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: request.authority === true, critical: true },
    request.authority
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    // clientAuth too: Elasticsearch's nodes present it to each other on the transport layer.
    ...(request.authority ? [] : [{ name: 'extKeyUsage', serverAuth: true, clientAuth: true }]),
    ...(request.dnsNames.length > 0 ? [{ name: 'subjectAltName', altNames: request.dnsNames.map((value) => ({ type: 2, value })) }] : []),
    { name: 'subjectKeyIdentifier' },
    ...(issuer ? [{ name: 'authorityKeyIdentifier', keyIdentifier: signer.generateSubjectKeyIdentifier().getBytes() }] : []),
  ]);
  cert.sign(forge.pki.privateKeyFromPem(issuer ? issuer.key : key), forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), key };
}
