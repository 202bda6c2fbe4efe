import Markdown from 'react-markdown';

/**
 * A description as its owner wrote it, in Markdown (the publish form says
 * so). No raw HTML, and links only to safe URLs: react-markdown's defaults.
 */
export function RichText({ text }: { text: string }) {
  return (
    <div className="rich-text">
      <Markdown>{text}</Markdown>
    </div>
  );
}
