package io.courier.client.crypto;

import java.util.Arrays;
import java.util.Objects;

/**
 * Another device's fetched public keys (one {@code KeyBundles.Bundle} of the wire protocol), from
 * which {@link SessionRecord#initiate} starts a session. Check it with {@link #verify()} first
 * ({@code initiate} does too).
 *
 * @param user the device's user
 * @param device the device
 * @param identityKey IKs.pub, Ed25519
 * @param identityDhKey IKd.pub, X25519
 * @param identityDhSignature {@code Sign(IKs, ascii("Courier-IKD-v1") || IKd.pub)}
 * @param signedPreKeyId the signed pre-key's id
 * @param signedPreKey SPK.pub, X25519
 * @param signedPreKeySignature {@code Sign(IKs, SPK.pub)}
 * @param oneTimePreKeyId the one-time pre-key's id, or null when the server had none left
 * @param oneTimePreKey OPK.pub, or null with the id
 */
public record RemoteBundle(String user, String device, byte[] identityKey, byte[] identityDhKey,
                           byte[] identityDhSignature, int signedPreKeyId, byte[] signedPreKey,
                           byte[] signedPreKeySignature, Integer oneTimePreKeyId, byte[] oneTimePreKey) {

    /** Checks no required field is null and that the one-time pre-key and its id come together. */
    public RemoteBundle {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(identityKey, "identityKey");
        Objects.requireNonNull(identityDhKey, "identityDhKey");
        Objects.requireNonNull(identityDhSignature, "identityDhSignature");
        Objects.requireNonNull(signedPreKey, "signedPreKey");
        Objects.requireNonNull(signedPreKeySignature, "signedPreKeySignature");
        if ((oneTimePreKeyId == null) != (oneTimePreKey == null)) {
            throw new E2eException(Reason.MALFORMED, "a bundle has a one-time pre-key and its id, or neither");
        }
        identityKey = identityKey.clone();
        identityDhKey = identityDhKey.clone();
        identityDhSignature = identityDhSignature.clone();
        signedPreKey = signedPreKey.clone();
        signedPreKeySignature = signedPreKeySignature.clone();
        oneTimePreKey = oneTimePreKey == null ? null : oneTimePreKey.clone();
    }

    @Override
    public byte[] identityKey() {
        return identityKey.clone();
    }

    @Override
    public byte[] identityDhKey() {
        return identityDhKey.clone();
    }

    @Override
    public byte[] identityDhSignature() {
        return identityDhSignature.clone();
    }

    @Override
    public byte[] signedPreKey() {
        return signedPreKey.clone();
    }

    @Override
    public byte[] signedPreKeySignature() {
        return signedPreKeySignature.clone();
    }

    @Override
    public byte[] oneTimePreKey() {
        return oneTimePreKey == null ? null : oneTimePreKey.clone();
    }

    /** The bundle {@code identity} publishes, with {@code oneTimePreKey} or none (null). */
    public static RemoteBundle of(String user, String device, DeviceIdentity identity, SignedPreKey signedPreKey,
                                  OneTimePreKey oneTimePreKey) {
        return new RemoteBundle(user, device, identity.identityKey(), identity.identityDhKey(),
                identity.identityDhSignature(), signedPreKey.id(), signedPreKey.keys().publicKey(), signedPreKey.signature(),
                oneTimePreKey == null ? null : oneTimePreKey.id(),
                oneTimePreKey == null ? null : oneTimePreKey.keys().publicKey());
    }

    /**
     * Checks the keys' lengths ({@link Reason#BAD_KEY}) and both signatures with the bundle's
     * {@code IKs}: a failure is {@link Reason#FORGED_PRE_KEY}, and nothing may be encrypted to
     * this device. (The one-time pre-key is not signed, as in X3DH.)
     */
    public void verify() {
        for (byte[] k : new byte[][] {identityKey, identityDhKey, signedPreKey}) {
            if (k.length != 32) {
                throw new E2eException(Reason.BAD_KEY, "a bundle key of " + user + "/" + device + " is " + k.length + " bytes, not 32");
            }
        }
        if (oneTimePreKey != null && oneTimePreKey.length != 32) {
            throw new E2eException(Reason.BAD_KEY, "the one-time pre-key of " + user + "/" + device + " is not 32 bytes");
        }
        if (!Ed25519.verify(identityKey, Bytes.concat(DeviceIdentity.IKD_LABEL, identityDhKey), identityDhSignature)) {
            throw new E2eException(Reason.FORGED_PRE_KEY, "the identity DH key signature of " + user + "/" + device + " does not verify");
        }
        if (!Ed25519.verify(identityKey, signedPreKey, signedPreKeySignature)) {
            throw new E2eException(Reason.FORGED_PRE_KEY, "the signed pre-key signature of " + user + "/" + device + " does not verify");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RemoteBundle b && user.equals(b.user) && device.equals(b.device)
                && Arrays.equals(identityKey, b.identityKey) && Arrays.equals(identityDhKey, b.identityDhKey)
                && Arrays.equals(identityDhSignature, b.identityDhSignature) && signedPreKeyId == b.signedPreKeyId
                && Arrays.equals(signedPreKey, b.signedPreKey) && Arrays.equals(signedPreKeySignature, b.signedPreKeySignature)
                && Objects.equals(oneTimePreKeyId, b.oneTimePreKeyId) && Arrays.equals(oneTimePreKey, b.oneTimePreKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(user, device, Arrays.hashCode(identityKey), signedPreKeyId);
    }

    @Override
    public String toString() {
        return "RemoteBundle[" + user + "/" + device + ", identityKey=" + Bytes.hex(identityKey) + ", signedPreKeyId="
                + Integer.toUnsignedString(signedPreKeyId) + ", oneTimePreKeyId=" + oneTimePreKeyId + "]";
    }
}
