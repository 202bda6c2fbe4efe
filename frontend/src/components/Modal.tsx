import { Dialog, Heading, Modal as AriaModal, ModalOverlay } from 'react-aria-components';

export function Modal({ open, onClose, title, children }: { open: boolean; onClose: () => void; title: string; children: React.ReactNode }) {
  return (
    <ModalOverlay className="modal-overlay" isOpen={open} onOpenChange={(o) => !o && onClose()} isDismissable>
      <AriaModal className="modal">
        <Dialog className="dialog">
          <Heading slot="title" className="dialog-title">
            {title}
          </Heading>
          {children}
        </Dialog>
      </AriaModal>
    </ModalOverlay>
  );
}
