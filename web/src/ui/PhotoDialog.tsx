import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, NetworkError } from '../api';
import { showToast, uploadPhoto } from '../state/app';

export const MAX_PHOTO_BYTES = 10 * 1024 * 1024;
const CAPTURE_PX = 720;

type Stage =
  | { kind: 'camera' }
  | { kind: 'preview'; image: Blob; from: 'camera' | 'file' };

interface Props {
  /** Start with the camera, or with a chosen file to preview. */
  start: { kind: 'camera' } | { kind: 'file'; file: Blob };
  onClose: () => void;
  /** Opens the file chooser again ("Choose another"). */
  onChooseAnother: () => void;
}

/** Why an upload was refused, in the user's words (SPEC §4 photo errors). */
export function uploadProblem(err: unknown): string {
  if (err instanceof NetworkError) return 'Can’t reach the server. Check your connection and try again.';
  if (err instanceof ApiError) {
    if (err.status === 413) return 'This photo is larger than 10 MB. Choose a smaller one.';
    if (err.status === 415) return 'This file isn’t a photo that can be used. Choose a JPEG, PNG, WebP or GIF image.';
    if (err.status === 400) return 'This photo is too large (over 40 megapixels). Choose a smaller one.';
    if (err.status === 429) return 'Too many uploads just now. Try again in a minute.';
  }
  return 'The photo could not be saved. Try again.';
}

function cameraProblem(err: unknown): string {
  const name = err instanceof DOMException || err instanceof Error ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return 'Camera access was not allowed. Allow it in your browser’s site settings, or choose a photo instead.';
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No camera was found on this device. Choose a photo instead.';
  if (name === 'NotReadableError') return 'The camera is in use by another app. Close it and try again.';
  return 'The camera could not be started. Choose a photo instead.';
}

/** Draws the centre square of the video into a JPEG, as the camera sees it (not mirrored). */
function captureSquare(video: HTMLVideoElement): Promise<Blob> {
  const w = video.videoWidth;
  const h = video.videoHeight;
  const side = Math.min(w, h);
  const out = Math.min(side, CAPTURE_PX);
  const canvas = document.createElement('canvas');
  canvas.width = out;
  canvas.height = out;
  const ctx = canvas.getContext('2d');
  if (!ctx || side === 0) return Promise.reject(new Error('no frame'));
  ctx.drawImage(video, (w - side) / 2, (h - side) / 2, side, side, 0, 0, out, out);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('encode failed'))), 'image/jpeg', 0.9),
  );
}

/** The "Take photo" capture view and the preview shown before any upload. */
export function PhotoDialog({ start, onClose, onChooseAnother }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [stage, setStage] = useState<Stage>(
    start.kind === 'camera' ? { kind: 'camera' } : { kind: 'preview', image: start.file, from: 'file' },
  );
  const [problem, setProblem] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const [busy, setBusy] = useState(false);
  const [previewUrl, setPreviewUrl] = useState<string | null>(null);

  useEffect(() => {
    const d = dialogRef.current;
    if (d && !d.open) d.showModal();
    return () => {
      if (d?.open) d.close();
    };
  }, []);

  // The camera runs only while the capture view is shown.
  useEffect(() => {
    if (stage.kind !== 'camera') return;
    let stream: MediaStream | null = null;
    let cancelled = false;
    setReady(false);
    setProblem(null);
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false })
      .then(async (s) => {
        if (cancelled) {
          s.getTracks().forEach((t) => t.stop());
          return;
        }
        stream = s;
        const v = videoRef.current;
        if (!v) return;
        v.srcObject = s;
        await v.play().catch(() => undefined);
        setReady(true);
      })
      .catch((err) => {
        if (!cancelled) setProblem(cameraProblem(err));
      });
    return () => {
      cancelled = true;
      stream?.getTracks().forEach((t) => t.stop());
    };
  }, [stage.kind]);

  useEffect(() => {
    if (stage.kind !== 'preview') return;
    const url = URL.createObjectURL(stage.image);
    setPreviewUrl(url);
    return () => URL.revokeObjectURL(url);
  }, [stage]);

  async function capture() {
    const v = videoRef.current;
    if (!v) return;
    try {
      const image = await captureSquare(v);
      setStage({ kind: 'preview', image, from: 'camera' });
    } catch {
      setProblem('No picture came from the camera. Try again.');
    }
  }

  async function use() {
    if (stage.kind !== 'preview' || busy) return;
    if (stage.image.size > MAX_PHOTO_BYTES) {
      setProblem('This photo is larger than 10 MB. Choose a smaller one.');
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await uploadPhoto(stage.image);
      showToast('Photo updated');
      onClose();
    } catch (err) {
      setProblem(uploadProblem(err));
    } finally {
      setBusy(false);
    }
  }

  const title = stage.kind === 'camera' ? 'Take photo' : 'Use this photo?';
  return (
    <dialog
      ref={dialogRef}
      class="sheet photo-dialog"
      aria-labelledby="photo-dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
      data-testid="photo-dialog"
    >
      <h2 id="photo-dialog-title">{title}</h2>
      <div class="photo-frame">
        {stage.kind === 'camera' ? (
          <video ref={videoRef} class="camera" playsInline muted autoplay aria-label="Camera view" data-testid="camera-view" />
        ) : (
          previewUrl && <img src={previewUrl} alt="Preview of your new photo" class="preview" data-testid="photo-preview" />
        )}
      </div>
      {stage.kind === 'preview' && <p class="muted center">Your photo is cropped to a square and shown in a circle.</p>}
      <p class="form-error" role="alert">
        {problem ?? ''}
      </p>
      <div class="actions">
        {stage.kind === 'camera' ? (
          <button type="button" class="btn btn-primary" onClick={capture} disabled={!ready}>
            Capture
          </button>
        ) : (
          <>
            <button type="button" class="btn btn-primary" onClick={use} disabled={busy} aria-busy={busy || undefined}>
              {busy ? 'Saving…' : 'Use photo'}
            </button>
            {stage.from === 'camera' ? (
              <button type="button" class="btn" onClick={() => setStage({ kind: 'camera' })} disabled={busy}>
                Retake
              </button>
            ) : (
              <button type="button" class="btn" onClick={onChooseAnother} disabled={busy}>
                Choose another
              </button>
            )}
          </>
        )}
        <button type="button" class="btn" onClick={onClose} disabled={busy}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
