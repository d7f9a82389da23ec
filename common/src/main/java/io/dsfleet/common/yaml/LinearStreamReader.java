package io.dsfleet.common.yaml;

import java.io.IOException;
import java.io.Reader;
import java.util.Arrays;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.reader.ReaderException;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.scanner.Constant;

/**
 * SnakeYAML's {@link StreamReader}, the same character for character (positions, line and column
 * counting, the printable-character check, the per-document index behind the code point limit),
 * except for how its window grows.
 *
 * <p>SnakeYAML's reader copies every unread code point into a new array each time it reads 1 KiB.
 * While the scanner looks ahead through one scalar with no break in it (a long env value, a base64
 * blob), nothing is read past, so a scalar of n characters costs n²/1024 copied code points: about
 * 2 GB of allocation for 1 MB, 19 GB for the 3 MiB that the code point limit let through. This
 * reader doubles its window instead, so reading costs a constant per character whatever the
 * scalars look like.
 *
 * <p>A {@link Mark} keeps the window it was given for its error snippet; a window is never
 * written below the length it had when handed out, and what lies past the text is a line break,
 * where a snippet stops.
 */
final class LinearStreamReader extends StreamReader {
  /** Characters read at a time, as SnakeYAML reads them. */
  private static final int CHUNK = 1023;

  private final String name = "'reader'";
  private final Reader stream;
  private final char[] buffer = new char[CHUNK + 1]; // + the low half of a pair cut by a read
  private int[] window = new int[0];
  private int length; // code points in window
  private int pointer;
  private boolean eof;
  private int index;
  private int documentIndex;
  private int line;
  private int column;

  LinearStreamReader(Reader stream) {
    super(Reader.nullReader()); // the superclass's own state stays empty and unused
    this.stream = stream;
  }

  @Override
  public Mark getMark() {
    return new Mark(name, index, line, column, window, pointer);
  }

  @Override
  public void forward() {
    forward(1);
  }

  @Override
  public void forward(int n) {
    for (int i = 0; i < n && ensureEnoughData(0); i++) {
      int c = window[pointer++];
      moveIndices(1);
      if (Constant.LINEBR.has(c) || (c == '\r' && ensureEnoughData(0) && window[pointer] != '\n')) {
        line++;
        column = 0;
      } else if (c != 0xFEFF) {
        column++;
      }
    }
  }

  @Override
  public int peek() {
    return ensureEnoughData(0) ? window[pointer] : 0;
  }

  @Override
  public int peek(int ahead) {
    return ensureEnoughData(ahead) ? window[pointer + ahead] : 0;
  }

  @Override
  public String prefix(int n) {
    if (n == 0) {
      return "";
    }
    return ensureEnoughData(n) ? new String(window, pointer, n) : new String(window, pointer, Math.min(n, length - pointer));
  }

  @Override
  public String prefixForward(int n) {
    String prefix = prefix(n);
    pointer += n;
    moveIndices(n);
    column += n;
    return prefix;
  }

  @Override
  public int getColumn() {
    return column;
  }

  @Override
  public int getDocumentIndex() {
    return documentIndex;
  }

  @Override
  public void resetDocumentIndex() {
    documentIndex = 0;
  }

  @Override
  public int getIndex() {
    return index;
  }

  @Override
  public int getLine() {
    return line;
  }

  private void moveIndices(int n) {
    index += n;
    documentIndex += n;
  }

  private boolean ensureEnoughData(int ahead) {
    if (!eof && pointer + ahead >= length) {
      update();
    }
    return pointer + ahead < length;
  }

  private void update() {
    try {
      int read = stream.read(buffer, 0, CHUNK);
      if (read <= 0) {
        eof = true;
        return;
      }
      if (Character.isHighSurrogate(buffer[read - 1])) {
        if (stream.read(buffer, read, 1) == -1) {
          throw new ReaderException(name, index + read, buffer[read - 1], "The last char is HighSurrogate (no LowSurrogate detected).");
        }
        read++;
      }
      makeRoom(read);
      int nonPrintable = ' ';
      for (int i = 0; i < read; ) {
        int cp = Character.codePointAt(buffer, i, read);
        window[length++] = cp;
        if (isPrintable(cp)) {
          i += Character.charCount(cp);
        } else {
          nonPrintable = cp;
          break;
        }
      }
      if (nonPrintable != ' ') {
        throw new ReaderException(name, index + length - pointer - 1, nonPrintable, "special characters are not allowed");
      }
    } catch (IOException e) {
      throw new YAMLException(e);
    }
  }

  /** Room for n more code points: a new window of twice what is unread and coming when it is full. */
  private void makeRoom(int n) {
    if (length + n <= window.length) {
      return;
    }
    int unread = length - pointer;
    int[] bigger = new int[Math.max(2 * (unread + n), 2 * (CHUNK + 1))];
    System.arraycopy(window, pointer, bigger, 0, unread);
    Arrays.fill(bigger, unread, bigger.length, '\n');
    window = bigger;
    length = unread;
    pointer = 0;
  }
}
